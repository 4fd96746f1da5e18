import Foundation
import NIfTIIO
import Registration
import Sampling
import Training
import VolumeCore
import Workflows

/// Issue 13's contrast axis of the accuracy benchmark (`stnbench accuracy … --contrast`).
///
/// Each case is the T1 benchmark's case (same scan, same random affine P, same generator
/// stream, so a case differs between contrasts only in its intensities), except that the scan
/// S is first replaced by its synthetic rendering in the contrast (``SyntheticContrast``
/// tissue image on S's grid, from the memberships of ``testVolumeMemberships(_:)``). Then, in
/// the order a scanner sees it: moved by P onto the perturbed grid (2 mm), acquired in thick
/// slices along the grid's k axis (`sliceThicknessMM`, the case's grid is then
/// 2 × 2 × thickness mm; 0 keeps 2 mm), and degraded by the T1 benchmark's bias (±20 %) and
/// Gaussian noise (2 %). The coordinate maps, the atlas (MNI152 T1) and the truth are those of
/// the T1 benchmark: exact for the MNI152 renderings, and for Colin27 (with skull, and brain
/// only) stnreg's registration of the unperturbed Colin27 **T1**, so the error says how far the
/// cross-contrast result is from the T1 result.
///
/// Also, per contrast, the two Colin27 renderings unperturbed (P = identity, thick slices, bias,
/// noise) against the same T1 truth: the distance from the T1 result due to the contrast alone.
/// `t1` renders a synthetic T1 through the same path, a control for what the synthesis and the
/// thick slices cost by themselves.
///
/// Baseline before the cross-contrast measures (NCC, brain-affine, seed 1, 6 cases, 5 mm slices;
/// mean TRE, exact truth / cross-subject): default t1 0.15 / 0.72 mm, t2 1.39 / 1.19 mm, pd
/// 0.91 / 0.63 mm, flair 0.22 / 0.58 mm, all 6/6 under 2 mm; hard t2 4/6 (both Colin27-with-skull
/// cases 17 mm off), t1, pd and flair 6/6. Unperturbed Colin27 from its T1 result: t2 1.65 / 1.46 mm
/// (with skull / brain), pd 0.78 / 0.82, flair 0.53 / 0.56, t1 0.77 / 0.41.
///
/// With several `arms` (the ablation, `stnbench ablation … --contrast …`), every case runs in
/// each arm and a table per preset and contrast replaces the per-case lines; the unperturbed
/// cases run with the standard arm alone.
func runContrastAccuracyBenchmark(presetNames: [String], casesPerPreset: Int, seed: UInt64, protocolName: String?, threads: Int,
                                  contrasts: [Contrast], sliceThicknessMM: Double, arms: [AccuracyArm] = [.standard]) throws {
    let truth = try AccuracyTruth(protocolName: protocolName, threads: threads)
    let memberships = try testVolumeMemberships(truth.testVolumes)
    let scans = truth.scans
    var t1Scans: [String: Volume] = [:]
    for name in scans { t1Scans[name] = try truth.scan(name) }
    print("contrast accuracy benchmark: atlas mni152_t1_2mm (T1), scans \(scans.joined(separator: ", ")) rendered as \(contrasts.map(\.rawValue).joined(separator: ", ")); slices \(sliceThicknessMM > 0 ? "\(sliceThicknessMM) mm" : "as scanned"); seed \(seed); \(threads) threads; protocol \(protocolName ?? RegistrationProtocol.defaultName)")
    var summaries: [String] = []
    let standardOnly = arms.count == 1 && arms[0].key == AccuracyArm.standard.key && arms[0].rotationSearch == nil
    for contrast in contrasts where standardOnly {
        // Unperturbed Colin27 renderings: the contrast's own distance from the T1 result.
        var rng = SeededGenerator(seed: seed &+ 0xC011_0027)
        var line = "cross-subject unperturbed/\(contrast.rawValue):"
        for name in scans where name != "mni152_t1_2mm" {
            let s = t1Scans[name]!
            let image = contrastCase(SyntheticContrast.tissueImage(memberships[name]!, contrast: contrast), moved: nil, onto: s.grid,
                                     sliceThicknessMM: sliceThicknessMM, rng: &rng, threads: threads)
            let path = truth.work + "/unperturbed_\(contrast.rawValue)_\(name).nii.gz"
            try NIfTIWriter.write(image, to: path, datatype: .float32)
            let (r, outcome) = try truth.run(scanPath: path, maps: coordinateMaps(s.grid), name: name, rotation: 0,
                                             tag: "unperturbed_\(contrast.rawValue)_\(name)", arm: .standard,
                                             protocolName: protocolName, threads: threads)
            printCase("unperturbed/\(contrast.rawValue)", 0, r, outcome)
            line += String(format: "  %@ TRE %.3f mm (p95 %.3f)", name, r.tre, r.tre95)
        }
        summaries.append(line)
    }
    for preset in AccuracyPreset.all where presetNames.contains(preset.name) {
        for contrast in contrasts {
            var rng = presetGenerator(preset, seed: seed)   // the same affines and noise for every contrast
            let label = "\(preset.name)/\(contrast.rawValue)"
            var cases: [(name: String, path: String, maps: [Volume], rotation: Double, tag: String)] = []
            for c in 0..<casesPerPreset {
                let name = scans[c % scans.count]
                let s = t1Scans[name]!
                let (p, grid, rotation) = randomPerturbation(preset, of: s, rng: &rng)
                let pInv = p.inverse!
                let image = contrastCase(SyntheticContrast.tissueImage(memberships[name]!, contrast: contrast), moved: pInv, onto: grid,
                                         sliceThicknessMM: sliceThicknessMM, rng: &rng, threads: threads)
                let tag = "\(preset.name)_\(contrast.rawValue)_case\(c)"
                let path = truth.work + "/\(tag).nii.gz"
                try NIfTIWriter.write(image, to: path, datatype: .float32)
                let maps = coordinateMaps(s.grid).map { resample($0, onto: grid, atlasToScan: pInv, threads: threads) }
                cases.append((name, path, maps, rotation, tag))
            }
            var table: [(String, [AccuracyCase])] = []
            for arm in arms {
                var results: [AccuracyCase] = []
                for (c, k) in cases.enumerated() {
                    let (r, outcome) = try truth.run(scanPath: k.path, maps: k.maps, name: k.name, rotation: k.rotation, tag: k.tag,
                                                     arm: arm, protocolName: protocolName, threads: threads)
                    results.append(r)
                    if arms.count == 1 { printCase(label, c, r, outcome) }
                }
                if arms.count == 1 { summarise(preset: label, results) }
                table.append((arm.name, results))
            }
            if arms.count > 1 { printArmTable(label, preset, casesPerPreset, table) }
        }
    }
    summaries.forEach { print($0) }
}

/// One contrast case: `tissue` pulled through `atlasToScan` onto `grid` (nil: `grid` is the
/// tissue image's own), then thick slices along k (`sliceThicknessMM`, 0 for none), then the
/// T1 benchmark's bias and noise.
func contrastCase(_ tissue: Volume, moved atlasToScan: Affine?, onto grid: Grid, sliceThicknessMM: Double,
                  rng: inout SeededGenerator, threads: Int) -> Volume {
    var v = atlasToScan.map { resample(tissue, onto: grid, atlasToScan: $0, threads: threads) } ?? tissue
    if sliceThicknessMM > grid.spacingMM.z {
        v = SyntheticContrast.thickSlices(v, axis: 2, thicknessMM: sliceThicknessMM, threads: threads)
    }
    addBiasAndNoise(&v, rng: &rng)
    return v
}

/// The tissue memberships of the TestVolumes scans: the MNI152 from its GM / WM probability maps
/// (with its T1 for the CSF, see ``TissueMemberships/fromProbabilityMaps(greyMatter:whiteMatter:brainMask:t1:)``),
/// Colin27 with skull and brain only from their T1 intensities with the brain image as the brain
/// (``TissueMemberships/fromT1(_:brain:)``).
func testVolumeMemberships(_ testVolumes: String) throws -> [String: TissueMemberships] {
    func read(_ n: String) throws -> Volume { try NIfTIReader.readVolume(testVolumes + "/\(n).nii.gz") }
    let colinBrain = try read("colin27_brain_2mm")
    return [
        "mni152_t1_2mm": TissueMemberships.fromProbabilityMaps(
            greyMatter: try read("mni152_gm_2mm"), whiteMatter: try read("mni152_wm_2mm"),
            brainMask: try read("mni152_brainmask_2mm"), t1: try read("mni152_t1_2mm")),
        "colin27_t1_2mm": TissueMemberships.fromT1(try read("colin27_t1_2mm"), brain: colinBrain),
        "colin27_brain_2mm": TissueMemberships.fromT1(colinBrain, brain: colinBrain),
    ]
}

/// `stnbench render-contrasts OUTDIR [seed] [thickness mm]`: writes, for each TestVolumes scan,
/// its tissue memberships (`<scan>_<tissue>.nii.gz`) and its renderings in every contrast
/// (`<scan>_<contrast>.nii.gz`: bias, Rician noise, thick slices along k on the thick grid).
func renderContrasts(to folder: String, seed: UInt64, sliceThicknessMM: Double) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let memberships = try testVolumeMemberships(repoFolder() + "/TestVolumes")
    for (name, m) in memberships.sorted(by: { $0.key < $1.key }) {
        for t in TissueMemberships.Tissue.allCases where m[t].contains(where: { $0 > 0 }) {
            try NIfTIWriter.write(m.volume(t), to: folder + "/\(name)_\(t.rawValue).nii.gz", datatype: .float32)
        }
        for contrast in Contrast.allCases {
            var rng = SeededGenerator(seed: seed)
            let options = ContrastRenderingOptions(thickSlices: sliceThicknessMM > 0 ? .init(axis: 2, thicknessMM: sliceThicknessMM) : nil)
            let v = SyntheticContrast.render(m, contrast: contrast, options: options, rng: &rng)
            let path = folder + "/\(name)_\(contrast.rawValue).nii.gz"
            try NIfTIWriter.write(v, to: path, datatype: .float32)
            print("\(path)  \(v.dims.x)×\(v.dims.y)×\(v.dims.z)  spacing \(v.spacingMM.x)×\(v.spacingMM.y)×\(v.spacingMM.z) mm")
        }
    }
}
