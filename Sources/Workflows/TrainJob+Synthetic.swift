import Foundation
import NIfTIIO
import QuickLook
import Registration
import Training
import VolumeCore

/// Synthetic subjects for `stnreg train --synthetic DIR` (issue #15).
extension TrainJob {
    /// The run's configuration: the protocol's `training` section, the overrides, and with
    /// `--synthetic` the default ``SyntheticSubjectSettings``.
    func configuration() throws -> TrainingConfiguration {
        let (settings, protocolPath) = try ProtocolLocator.load(protocolName)
        guard let n = settings.training else {
            throw TrainError("\(protocolPath): the protocol has no 'training' section; choose a protocol that says how to train the network")
        }
        var c = TrainJob.configuration(n, steps: steps, seed: seed, percentiles: settings.intensityPercentiles)
        if let r = rotationDegrees { c.ranges.maxRotationDegrees = r }
        if let t = translationMM { c.ranges.maxTranslationMM = t }
        if let s = scale { c.ranges.maxScale = s }
        if syntheticFolder != nil { c.synthetic = SyntheticSubjectSettings() }
        return c
    }

    /// The label-map files read from the synthetic folder (those present; the label atlases are optional).
    func syntheticPaths() -> [String] {
        guard let folder = syntheticFolder else { return [] }
        return SyntheticAnatomySources.fileStems.map { folder + "/\($0).nii.gz" }
            .filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// The generator's anatomies from the synthetic folder (empty without `--synthetic`).
    func syntheticAnatomies() throws -> [SyntheticAnatomy] {
        guard let folder = syntheticFolder else { return [] }
        func read(_ stem: String, optional: Bool = false) throws -> Volume? {
            let path = folder + "/\(stem).nii.gz"
            if optional && !FileManager.default.fileExists(atPath: path) { return nil }
            guard FileManager.default.fileExists(atPath: path) else {
                throw TrainError("\(path): missing; --synthetic needs the TestVolumes label maps (stnreg make-test-volumes)")
            }
            return try NIfTIReader.readVolume(path)
        }
        let f = SyntheticAnatomySources.fileStems
        let s = SyntheticAnatomySources(
            mniT1: try read(f[0])!, mniGreyMatter: try read(f[1])!, mniWhiteMatter: try read(f[2])!, mniBrainMask: try read(f[3])!,
            colinT1: try read(f[4])!, colinBrain: try read(f[5])!,
            harvardOxford: try read(f[6], optional: true), aal: try read(f[7], optional: true), jhu: try read(f[8], optional: true))
        return SyntheticAnatomy.make(s)
    }

    /// Writes `count` synthetic subjects at the full training ranges (seeded by the run's seed):
    /// `sample_NN_input.nii.gz` (what the network sees), `sample_NN_t1.nii.gz` (what the loss
    /// warps), and `samples.png` (a row per subject: the input's axial, coronal and sagittal
    /// middle slices, then the T1 target's coronal slice). Returns the files written.
    public func writeSamples(to folder: String, count: Int) throws -> [String] {
        guard syntheticFolder != nil else { throw TrainError("--write-samples needs --synthetic DIR") }
        let config = try configuration()
        let atlas = try NIfTIReader.readVolume(atlasPath)
        let trainer = try Trainer(atlas: atlas, training: [], validation: [], configuration: config, threads: threads,
                                  anatomies: try syntheticAnatomies())
        let generator = trainer.synthetic!
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var written: [String] = []
        var rows: [RGBImage] = []
        for n in 0..<count {
            var rng = SeededGenerator(seed: config.seed &+ 0x5A4D_9E5 &* UInt64(n + 1))
            let p = config.ranges.sample(&rng, fraction: 1, halfExtentMM: generator.frame.halfExtentMM)
            let s = generator.sample(perturbation: p, rng: &rng, threads: threads)
            let stem = folder + String(format: "/sample_%02d", n)
            try NIfTIWriter.write(s.input, to: stem + "_input.nii.gz", datatype: .float32)
            try NIfTIWriter.write(s.t1, to: stem + "_t1.nii.gz", datatype: .float32)
            written += [stem + "_input.nii.gz", stem + "_t1.nii.gz"]
            let panels = [SlicePlane.axial.slice(of: s.input), SlicePlane.coronal.slice(of: s.input),
                          SlicePlane.sagittal.slice(of: s.input), SlicePlane.coronal.slice(of: s.t1)]
            rows.append(RGBImage.row(panels.map { RGBImage(gray: ImageOps.window($0), width: $0.width, height: $0.height).upscaled(by: 2) }))
        }
        if !rows.isEmpty {
            let png = folder + "/samples.png"
            try AtomicFile.withTemporary(for: png) { tmp in try PNGWriter.write(stacked(rows), to: tmp) }
            written.append(png)
        }
        return written
    }
}

/// Images one above the other, left-aligned, 4 black pixels between them.
func stacked(_ images: [RGBImage], gap: Int = 4) -> RGBImage {
    let w = images.map(\.width).max()!, h = images.map(\.height).reduce(0, +) + gap * (images.count - 1)
    var out = RGBImage(width: w, height: h)
    var y0 = 0
    for im in images {
        for y in 0..<im.height { for x in 0..<im.width { out[x, y0 + y] = im[x, y] } }
        y0 += im.height + gap
    }
    return out
}
