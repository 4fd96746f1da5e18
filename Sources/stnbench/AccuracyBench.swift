import Foundation
import NIfTIIO
import Registration
import Sampling
import VolumeCore
import Workflows

/// Issue 3's accuracy benchmark: seeded random affines applied to the TestVolumes scans,
/// registered back to the atlas, target registration error measured without trusting any
/// transform convention.
///
/// For scan S and a random world affine P (about the brain centre), the perturbed scan is
/// S'(z) = S(P⁻¹z)·bias(z) + noise. Three coordinate maps C (value = world x, y or z of each
/// voxel of S) are perturbed the same way (C', no bias or noise). `stnreg align S' atlas` gives a
/// transform; `stnreg apply` of that transform to C' gives, at each atlas voxel, the point of S
/// it was matched to. The truth is `stnreg apply` of a reference transform T_ref to C:
/// T_ref = identity for the atlas image itself (exact ground truth), and for another subject
/// T_ref = stnreg's registration of the unperturbed S (so the error there is consistency under
/// perturbation, not accuracy against an unknown anatomy). TRE = mean |difference| (mm) over
/// the atlas brain mask; success = TRE < 2 mm.
struct AccuracyPreset {
    var name: String
    var maxDegrees: Double
    var maxTranslationMM: Double
    var maxScale: Double
    var maxShear: Double

    static let all: [AccuracyPreset] = [
        AccuracyPreset(name: "default", maxDegrees: 20, maxTranslationMM: 15, maxScale: 0.10, maxShear: 0.05),
        AccuracyPreset(name: "hard", maxDegrees: 45, maxTranslationMM: 30, maxScale: 0.10, maxShear: 0.05),
        AccuracyPreset(name: "extreme", maxDegrees: 90, maxTranslationMM: 30, maxScale: 0.10, maxShear: 0.05),
    ]
}

struct AccuracyCase {
    var scanName: String
    var tre: Double
    var tre95: Double
    var seconds: Double
    var flags: [QualityFlag]
    var maxRotation: Double
}

/// One way of running align, for the ablation.
struct AccuracyArm {
    var name: String
    var key: String
    var useNetwork: Bool
    var refine: Bool
    var rotationSearch: RotationSearchMode?

    static let standard = AccuracyArm(name: "default", key: "default", useNetwork: true, refine: true, rotationSearch: nil)
    static let ablation: [AccuracyArm] = [
        AccuracyArm(name: "network+search+ref.", key: "default", useNetwork: true, refine: true, rotationSearch: nil),
        AccuracyArm(name: "network + refine", key: "network+refine", useNetwork: true, refine: true, rotationSearch: .fallback),
        AccuracyArm(name: "search + refine", key: "search+refine", useNetwork: false, refine: true, rotationSearch: .always),
        AccuracyArm(name: "network alone", key: "network", useNetwork: true, refine: false, rotationSearch: .never),
        AccuracyArm(name: "search alone", key: "search", useNetwork: false, refine: false, rotationSearch: .always),
        AccuracyArm(name: "refine alone", key: "refine", useNetwork: false, refine: true, rotationSearch: .never),
    ]
}

/// The atlas, its brain mask, the TestVolumes scans and their truth coordinate maps on the atlas
/// grid, and a work folder (removed at the end unless STNBENCH_KEEP=1).
final class AccuracyTruth {
    let testVolumes = repoFolder() + "/TestVolumes"
    let atlasPath: String
    let atlas: Volume
    let mask: Volume
    let scans = ["mni152_t1_2mm", "colin27_t1_2mm", "colin27_brain_2mm"]
    let work = NSTemporaryDirectory() + "/stnbench-accuracy-\(getpid())"
    let keep = ProcessInfo.processInfo.environment["STNBENCH_KEEP"] == "1"
    /// Per scan: `stnreg apply` of the reference transform to the scan's coordinate maps (the
    /// identity for the atlas image itself, stnreg's registration of the unperturbed scan otherwise).
    private(set) var truthMaps: [String: [Volume]] = [:]

    init(protocolName: String?, threads: Int) throws {
        atlasPath = testVolumes + "/mni152_t1_2mm.nii.gz"
        mask = try NIfTIReader.readVolume(testVolumes + "/mni152_brainmask_2mm.nii.gz")
        atlas = try NIfTIReader.readVolume(atlasPath)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        for name in scans {
            let s = try scan(name)
            let refT: Affine
            if name == "mni152_t1_2mm" {
                refT = .identity
            } else {
                let job = AlignJob(scanPath: path(name), atlasPath: atlasPath, prefix: work + "/ref_\(name)",
                                   protocolName: protocolName, threads: threads, commandLine: ["stnbench"])
                refT = try job.run().record.atlasToScan
            }
            truthMaps[name] = try applyToCoordinateMaps(coordinateMaps(s.grid), grid: s.grid, atlasToScan: refT,
                                                        atlas: atlas.grid, work: work, tag: "ref_\(name)", threads: threads)
        }
    }

    deinit { if keep { print("kept \(work)") } else { try? FileManager.default.removeItem(atPath: work) } }

    func path(_ name: String) -> String { testVolumes + "/\(name).nii.gz" }
    func scan(_ name: String) throws -> Volume { try NIfTIReader.readVolume(path(name)) }

    /// Aligns the case at `scanPath` (coordinate maps `maps`, truth of scan `name`) and measures its TRE.
    func run(scanPath: String, maps: [Volume], name: String, rotation: Double, tag: String, arm: AccuracyArm,
             protocolName: String?, threads: Int) throws -> (AccuracyCase, AlignJob.Outcome) {
        let job = AlignJob(scanPath: scanPath, atlasPath: atlasPath, prefix: work + "/\(tag)_out",
                           protocolName: protocolName, threads: threads, commandLine: ["stnbench"],
                           useNetwork: arm.useNetwork, refine: arm.refine, rotationSearch: arm.rotationSearch)
        let clock = Stopwatch()
        let outcome = try job.run()
        let seconds = clock.total
        let found = try applyMaps(maps, transformPath: outcome.outputs.transform, atlas: atlas.grid, work: work, tag: tag, threads: threads)
        let (mean, p95) = treOverMask(found, truthMaps[name]!, mask: mask)
        return (AccuracyCase(scanName: name, tre: mean, tre95: p95, seconds: seconds, flags: outcome.record.flags, maxRotation: rotation), outcome)
    }
}

/// A random world affine P about the scan's centre of mass within the preset's ranges, and the
/// grid of the perturbed scan: a cube of the scan's spacing around the moved centre.
func randomPerturbation(_ preset: AccuracyPreset, of s: Volume, rng: inout SeededGenerator) -> (p: Affine, grid: Grid, rotation: Double) {
    let centre = ImagePreparation.centreOfMass(s) ?? s.grid.centreWorld
    let d = Decomposition(
        translation: SIMD3(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)) * preset.maxTranslationMM,
        rotationDegrees: SIMD3(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)) * preset.maxDegrees,
        scale: SIMD3(1 + rng.uniform(-1, 1) * preset.maxScale, 1 + rng.uniform(-1, 1) * preset.maxScale, 1 + rng.uniform(-1, 1) * preset.maxScale),
        shear: SIMD3(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)) * preset.maxShear)
    let p = Affine.translation(centre) * d.affine * Affine.translation(-centre)
    let side = Int((Double(max(s.dims.x, s.dims.y, s.dims.z)) * 1.25).rounded())
    let spacing = s.grid.spacingMM.x
    let movedCentre = p.apply(s.grid.centreWorld)
    let grid = Grid(dims: SIMD3(side, side, side), spacingMM: SIMD3(repeating: spacing),
                    origin: movedCentre - SIMD3(repeating: Double(side - 1) * spacing / 2))
    return (p, grid, d.rotationAngleDegrees)
}

/// The per-preset generator: the same cases for every arm and every contrast.
func presetGenerator(_ preset: AccuracyPreset, seed: UInt64) -> SeededGenerator {
    SeededGenerator(seed: seed &+ UInt64(preset.name.utf8.reduce(0) { $0 &* 31 &+ UInt32($1) }))
}

func printCase(_ label: String, _ c: Int, _ r: AccuracyCase, _ outcome: AlignJob.Outcome) {
    let last = (outcome.record.predictionLastCorrectionMM.map { String(format: "  last step %.1f mm", $0) } ?? "")
        + (outcome.record.contrast.map { String(format: "  contrast NCC %.2f eta %.2f lin %.2f (%@)", $0.startNCC, $0.correlationRatio, $0.linearity, $0.sameContrast ? "same" : "other") } ?? "")
        + remapLine(outcome.record.levels) + basinLine(outcome.record.contrast?.basin)
    print(String(format: "  %@ case %2d  %@  rot %5.1f°  TRE %7.3f mm (p95 %7.3f)  %5.2f s  %@%@", label, c,
                 r.scanName.padding(toLength: 18, withPad: " ", startingAt: 0), r.maxRotation, r.tre, r.tre95, r.seconds,
                 outcome.record.flags.map(\.rawValue).joined(separator: ","), last))
}

/// The cross-contrast path's atlas remap per level (`contrast.intensityRemap`): η² and whether
/// the level remapped ("remap η² 0.21+ 0.19+"; + remapped, − not); empty where no level could.
func remapLine(_ levels: [LevelReport]) -> String {
    let parts = levels.compactMap { l in l.atlasRemapCorrelationRatio.map { String(format: "%.2f%@", $0, l.atlasRemapped ? "+" : "−") } }
    return parts.isEmpty ? "" : "  remap η² " + parts.joined(separator: " ")
}

/// The basin stage's decision (`contrast.basin`): how far the levels ended from its result and
/// which result was kept; empty without the stage.
func basinLine(_ b: Registration.BasinOutcome?) -> String {
    guard let b else { return "" }
    return String(format: "  basin %.1f mm, kept %@", b.levelsDistanceMM, b.kept.rawValue)
}

func runAccuracyBenchmark(presetNames: [String], casesPerPreset: Int, seed: UInt64, protocolName: String?, threads: Int,
                          arms: [AccuracyArm] = [.standard]) throws {
    let truth = try AccuracyTruth(protocolName: protocolName, threads: threads)
    let work = truth.work, scans = truth.scans
    print("accuracy benchmark: atlas mni152_t1_2mm, scans \(scans.joined(separator: ", ")); seed \(seed); \(threads) threads; protocol \(protocolName ?? RegistrationProtocol.defaultName)")
    for preset in AccuracyPreset.all where presetNames.contains(preset.name) {
        var rng = presetGenerator(preset, seed: seed)
        // The cases, made once and shared by every arm.
        var cases: [(name: String, path: String, maps: [Volume], rotation: Double)] = []
        for c in 0..<casesPerPreset {
            let name = scans[c % scans.count]
            let s = try truth.scan(name)
            let (p, grid, rotation) = randomPerturbation(preset, of: s, rng: &rng)
            let pInv = p.inverse!
            var perturbed = resample(s, onto: grid, atlasToScan: pInv, threads: threads)
            addBiasAndNoise(&perturbed, rng: &rng)
            let scanPath = work + "/\(preset.name)_case\(c).nii.gz"
            try NIfTIWriter.write(perturbed, to: scanPath, datatype: .float32)
            // Coordinate maps of S, perturbed exactly like the scan.
            let cPrime = coordinateMaps(s.grid).map { resample($0, onto: grid, atlasToScan: pInv, threads: threads) }
            cases.append((name, scanPath, cPrime, rotation))
        }
        var table: [(String, [AccuracyCase])] = []
        for arm in arms {
            var results: [AccuracyCase] = []
            for (c, k) in cases.enumerated() {
                let (r, outcome) = try truth.run(scanPath: k.path, maps: k.maps, name: k.name, rotation: k.rotation,
                                                 tag: "\(preset.name)_case\(c)", arm: arm, protocolName: protocolName, threads: threads)
                results.append(r)
                if arms.count == 1 { printCase(preset.name, c, r, outcome) }
            }
            if arms.count == 1 { summarise(preset: preset.name, results) }
            table.append((arm.name, results))
        }
        if arms.count > 1 { printArmTable(preset.name, preset, casesPerPreset, table) }
    }
}

/// The ablation's table: one row per arm (success, mean TRE, p95 case TRE, median time).
func printArmTable(_ label: String, _ preset: AccuracyPreset, _ cases: Int, _ table: [(String, [AccuracyCase])]) {
    print("\(label) preset (±\(Int(preset.maxDegrees))°, ±\(Int(preset.maxTranslationMM)) mm), \(cases) cases:")
    print("  arm                 success   mean TRE   p95 case TRE   median time")
    for (name, r) in table {
        let tres = r.map(\.tre).sorted()
        let ok = r.filter { $0.tre < 2 }.count
        let times = r.map(\.seconds).sorted()
        print(String(format: "  %@  %3d/%-3d   %8.3f mm   %8.3f mm    %6.2f s", name.padding(toLength: 18, withPad: " ", startingAt: 0),
                     ok, r.count, tres.reduce(0, +) / Double(tres.count),
                     tres[min(tres.count - 1, Int((0.95 * Double(tres.count - 1)).rounded()))], times[times.count / 2]))
    }
}

func summarise(preset: String, _ r: [AccuracyCase]) {
    let tres = r.map(\.tre).sorted()
    let success = r.filter { $0.tre < 2 }.count
    let times = r.map(\.seconds).sorted()
    let self_ = r.filter { $0.scanName == "mni152_t1_2mm" }.map(\.tre)
    let cross = r.filter { $0.scanName != "mni152_t1_2mm" }.map(\.tre)
    func mean(_ a: [Double]) -> Double { a.isEmpty ? .nan : a.reduce(0, +) / Double(a.count) }
    let p95 = tres[min(tres.count - 1, Int((0.95 * Double(tres.count - 1)).rounded()))]
    print(String(format: "%@: %d cases  success %d/%d (%.0f %%)  mean TRE %.3f mm (exact truth %.3f, cross-subject %.3f)  p95 of case TRE %.3f mm  median time %.2f s",
                 preset, r.count, success, r.count, 100 * Double(success) / Double(r.count), mean(tres), mean(self_), mean(cross), p95, times[times.count / 2]))
}

/// Three volumes whose voxel values are the world x, y, z (mm) of each voxel centre.
func coordinateMaps(_ g: Grid) -> [Volume] {
    var maps = [Volume(grid: g), Volume(grid: g), Volume(grid: g)]
    for k in 0..<g.dims.z {
        for j in 0..<g.dims.y {
            for i in 0..<g.dims.x {
                let w = g.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
                let n = g.index(i, j, k)
                maps[0].voxels[n] = Float(w.x); maps[1].voxels[n] = Float(w.y); maps[2].voxels[n] = Float(w.z)
            }
        }
    }
    return maps
}

/// Writes `maps` and applies a transform file to them with `stnreg apply` (ApplyJob) onto the atlas grid.
func applyMaps(_ maps: [Volume], transformPath: String, atlas: Grid, work: String, tag: String, threads: Int) throws -> [Volume] {
    let refPath = work + "/atlasgrid.nii.gz"
    if !FileManager.default.fileExists(atPath: refPath) {
        try NIfTIWriter.write(Volume(grid: atlas), to: refPath, datatype: .uint8)
    }
    var out: [Volume] = []
    for (a, m) in maps.enumerated() {
        let inPath = work + "/\(tag)_coord\(a).nii.gz", outPath = work + "/\(tag)_coord\(a)_warped.nii.gz"
        try NIfTIWriter.write(m, to: inPath, datatype: .float32)
        try ApplyJob(transformPath: transformPath, movingPath: inPath, referencePath: refPath, outputPath: outPath, threads: threads).run()
        out.append(try NIfTIReader.readVolume(outPath))
    }
    return out
}

/// The truth maps for a known transform, through the same write-record-and-apply path.
func applyToCoordinateMaps(_ maps: [Volume], grid: Grid, atlasToScan: Affine, atlas: Grid, work: String, tag: String, threads: Int) throws -> [Volume] {
    let json = """
    {"format": "stnreg-transform", "version": 1, "atlasToScan": \(atlasToScan.rows4x4)}
    """
    let path = work + "/\(tag)_truth.json"
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return try applyMaps(maps, transformPath: path, atlas: atlas, work: work, tag: tag, threads: threads)
}

/// Mean and 95th percentile of |found − truth| over the mask voxels.
func treOverMask(_ found: [Volume], _ truth: [Volume], mask: Volume) -> (Double, Double) {
    var errors: [Double] = []
    for n in 0..<mask.voxels.count where mask.voxels[n] > 0 {
        let d = SIMD3(Double(found[0].voxels[n] - truth[0].voxels[n]), Double(found[1].voxels[n] - truth[1].voxels[n]),
                      Double(found[2].voxels[n] - truth[2].voxels[n]))
        errors.append(length(d))
    }
    errors.sort()
    let mean = errors.reduce(0, +) / Double(max(1, errors.count))
    return (mean, errors.isEmpty ? .nan : errors[Int(0.95 * Double(errors.count - 1))])
}

/// A smooth multiplicative bias (±20 %, low-order polynomial in normalised coordinates) and
/// Gaussian noise (2 % of the 99th percentile).
func addBiasAndNoise(_ v: inout Volume, rng: inout SeededGenerator) {
    let c = (0..<9).map { _ in rng.uniform(-1, 1) }
    let d = v.dims
    var sorted = v.voxels.filter { $0 > 0 }
    sorted.sort()
    let top = sorted.isEmpty ? 1 : Double(sorted[Int(0.99 * Double(sorted.count - 1))])
    let sigma = 0.02 * top
    for k in 0..<d.z {
        for j in 0..<d.y {
            for i in 0..<d.x {
                let u = 2 * Double(i) / Double(d.x - 1) - 1, w = 2 * Double(j) / Double(d.y - 1) - 1, z = 2 * Double(k) / Double(d.z - 1) - 1
                let poly = c[0] * u + c[1] * w + c[2] * z + c[3] * u * w + c[4] * w * z + c[5] * u * z + c[6] * u * u + c[7] * w * w + c[8] * z * z
                let bias = exp(0.2 * poly / 3)
                let n = v.grid.index(i, j, k)
                v.voxels[n] = Float(max(0, Double(v.voxels[n]) * bias + sigma * rng.gaussian()))
            }
        }
    }
}
