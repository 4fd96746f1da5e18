import ArgumentParser
import Foundation
import NIfTIIO
import Sampling
import VolumeCore

/// `stnreg make-test-volumes`: regenerates TestVolumes/ from the source volumes (the recipe).
struct MakeTestVolumesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-test-volumes",
        abstract: "Regenerate the small bundled test volumes (TestVolumes/) from the full-resolution sources.",
        discussion: """
        Each source is blurred for anti-aliasing and resampled trilinearly onto an isotropic \
        RAS grid of --spacing mm covering its field of view, then stored as uint8. The brain \
        mask is (grey + white matter probability) ≥ 50 % on the MNI152 grid. The label atlases \
        (Harvard-Oxford cortical, AAL, JHU white matter), when present, are resampled by nearest \
        neighbour onto the MNI152 grid.
        """)

    @Option(help: "Folder holding the source volumes (ch2.nii.gz, ch2bet.nii.gz, mni_icbm152_*_tal_nlin_sym_09a_converted.nii.gz; optionally the label atlases HarvardOxford-cort-maxprob-thr0-1mm.nii.gz, aal.nii.gz, JHU-WhiteMatter-labels-1mm.nii.gz).")
    var source: String

    @Option(help: "Output folder.")
    var output: String = "TestVolumes"

    @Option(help: "Isotropic spacing in mm.")
    var spacing: Double = 2

    func validate() throws {
        guard spacing >= 0.5 && spacing <= 8 else { throw ValidationError("--spacing must be between 0.5 and 8 mm") }
    }

    func run() throws {
        let recipe = TestVolumeRecipe(spacingMM: spacing)
        for line in try recipe.make(sourceFolder: source, outputFolder: output) {
            print(line)
        }
    }
}

/// The exact recipe for TestVolumes/, kept in code so that it can be re-run.
struct TestVolumeRecipe {
    var spacingMM: Double

    /// (output name, source file) for the volumes resampled as they are.
    var plain: [(String, String)] {
        let s = spacingTag
        return [
            ("colin27_t1_\(s).nii.gz", "ch2.nii.gz"),
            ("colin27_brain_\(s).nii.gz", "ch2bet.nii.gz"),
            ("mni152_t1_\(s).nii.gz", "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"),
            ("mni152_gm_\(s).nii.gz", "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"),
            ("mni152_wm_\(s).nii.gz", "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz"),
        ]
    }

    var spacingTag: String { spacingMM == spacingMM.rounded() ? "\(Int(spacingMM))mm" : "\(spacingMM)mm" }

    /// Writes every test volume; returns one line per file written.
    func make(sourceFolder: String, outputFolder: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        var lines: [String] = []
        var resampled: [String: Volume] = [:]
        for (name, src) in plain {
            let v = try NIfTIReader.readVolume(sourceFolder + "/" + src)
            let target = v.grid.isotropicCovering(spacingMM: spacingMM)
            var small = smoothAndResample(v, onto: target)
            for i in small.voxels.indices { small.voxels[i] = min(255, max(0, small.voxels[i].rounded())) }
            try NIfTIWriter.write(small, to: outputFolder + "/" + name, datatype: .uint8,
                                  description: "stnreg test volume from \(src)")
            resampled[src] = small
            lines.append("wrote \(outputFolder)/\(name) (\(small.dims.x)×\(small.dims.y)×\(small.dims.z), \(spacingTag))")
        }
        let gm = resampled["mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"]!
        let wm = resampled["mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz"]!
        var mask = Volume(grid: gm.grid)
        for i in mask.voxels.indices { mask.voxels[i] = gm.voxels[i] + wm.voxels[i] >= 128 ? 1 : 0 }
        let maskName = "mni152_brainmask_\(spacingTag).nii.gz"
        try NIfTIWriter.write(mask, to: outputFolder + "/" + maskName, datatype: .uint8,
                              description: "stnreg brain mask: gm+wm >= 50%")
        lines.append("wrote \(outputFolder)/\(maskName)")
        // Label atlases (issue #15's synthetic subjects): nearest neighbour onto the MNI152 grid.
        for (name, src) in labels where FileManager.default.fileExists(atPath: sourceFolder + "/" + src) {
            let v = try NIfTIReader.readVolume(sourceFolder + "/" + src)
            var small = resample(v, onto: gm.grid, interpolation: .nearest)
            for i in small.voxels.indices { small.voxels[i] = min(255, max(0, small.voxels[i].rounded())) }
            try NIfTIWriter.write(small, to: outputFolder + "/" + name, datatype: .uint8,
                                  description: "stnreg label map from \(src)")
            lines.append("wrote \(outputFolder)/\(name) (labels, nearest neighbour onto the MNI152 grid)")
        }
        return lines
    }

    /// (output name, source file) for the label atlases, resampled by nearest neighbour onto the
    /// MNI152 test grid (skipped when the source is absent).
    var labels: [(String, String)] {
        let s = spacingTag
        return [
            ("harvardoxford_cort_\(s).nii.gz", "HarvardOxford-cort-maxprob-thr0-1mm.nii.gz"),
            ("aal_\(s).nii.gz", "aal.nii.gz"),
            ("jhu_wm_\(s).nii.gz", "JHU-WhiteMatter-labels-1mm.nii.gz"),
        ]
    }
}
