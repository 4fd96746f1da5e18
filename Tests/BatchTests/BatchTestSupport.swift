import AuditLog
import Foundation
import NIfTIIO
import Registration
import Sampling
import TestSupport
import VolumeCore
import Workflows

let repositoryFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// A phantom atlas, `scans` 3D scans each moved by its own known rigid transform, optionally a
/// 4D series (frame t moved by `seriesMotion[t]`), and a small rigid protocol without a network.
struct BatchCase {
    let dir: String
    let inputDir: String
    let atlasPath: String
    let protocolPath: String
    let scanPaths: [String]
    let truths: [Affine]
    let seriesPath: String?
    let seriesMotion: [Affine]

    static let atlasGrid = Grid(dims: SIMD3(22, 24, 20), spacingMM: SIMD3(4, 4, 4), origin: SIMD3(-42, -46, -38))

    init(scans: Int, seriesFrames: Int = 0, name: String = #function) throws {
        dir = makeTemporaryDirectory("stnreg-batch")
        inputDir = dir + "/in"
        try FileManager.default.createDirectory(atPath: inputDir, withIntermediateDirectories: true)
        let atlas = Phantom.blobs(grid: BatchCase.atlasGrid)
        atlasPath = dir + "/atlas.nii.gz"
        try NIfTIWriter.write(atlas, to: atlasPath)
        let scanGrid = Grid(dims: SIMD3(24, 22, 24),
                            voxelToWorld: Affine(linear: Matrix3.diagonal(SIMD3(-4, 4.5, 3.5)), translation: SIMD3(48, -50, -42)))
        var paths: [String] = []
        var truths: [Affine] = []
        for n in 0..<scans {
            let x = Double(n)
            let shift: SIMD3<Double> = SIMD3(x - 2, 3 - x, 1.5)
            let angles: SIMD3<Double> = SIMD3(4 - x, 0, 2 * x - 3)
            let t = Decomposition(translation: shift, rotationDegrees: angles).affine
            let path = inputDir + String(format: "/sub-%02d_T1w.nii.gz", n + 1)
            try NIfTIWriter.write(resample(atlas, onto: scanGrid, atlasToScan: t.inverse!), to: path)
            paths.append(path)
            truths.append(t)
        }
        scanPaths = paths
        self.truths = truths
        if seriesFrames > 0 {
            let motion = (0..<seriesFrames).map { t in
                let x = Double(t)
                let shift: SIMD3<Double> = SIMD3(0.8 * x, -0.5 * x, 0.3)
                let angles: SIMD3<Double> = SIMD3(0, 1.5 * x, -1)
                return t == 0 ? Affine.identity : Decomposition(translation: shift, rotationDegrees: angles).affine
            }
            let frames = motion.map { resample(atlas, onto: BatchCase.atlasGrid, atlasToScan: $0.inverse!) }
            let path = inputDir + "/sub-99_bold.nii.gz"
            try NIfTIWriter.write(frames: frames, to: path)
            seriesPath = path
            seriesMotion = motion
        } else {
            seriesPath = nil
            seriesMotion = []
        }
        var p = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json")
        p.name = "phantom-rigid"
        p.transform = .rigid
        p.network = nil
        p.initialisation.searchSpacingMM = 8
        p.initialisation.rotationSearch = .never
        p.levels = [.init(spacingMM: 8, iterations: 40), .init(spacingMM: 4, iterations: 40)]
        protocolPath = dir + "/phantom.json"
        try p.canonicalJSON().write(to: URL(fileURLWithPath: protocolPath))
    }

    func out(_ name: String) throws -> String {
        let path = dir + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func batch(_ outDir: String, inputs: [String]? = nil, jobs: Int = 2, threads: Int = 2, force: Bool = false,
               shard: Shard? = nil, toFrame: Int? = nil, withAtlas: Bool = true) -> BatchJob {
        BatchJob(atlasPath: withAtlas ? atlasPath : nil, inputs: inputs ?? scanPaths, outputFolder: outDir, protocolName: protocolPath,
                 useNetwork: false, toFrame: toFrame, jobs: jobs, threads: threads, force: force, shard: shard, commandLine: ["test"])
    }
}

/// A file's bytes (nil when missing).
func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

/// The records of a log.
func records(_ log: String) throws -> [AuditRecord] { try AuditLogFile(path: log).readRecords() }

/// Item name of a batch record.
func itemName(_ r: AuditRecord) -> String { r.fields["batch"]?["item"]?.string ?? "" }

/// The `stnreg` executable built beside the test bundle (or `$STNREG_BINARY`).
func stnregBinary() throws -> String {
    if let p = locateBuiltStnreg() { return p }
    throw AuditLogError(path: CommandLine.arguments[0], problem: "no stnreg executable beside the test bundle; run `swift build` first or set STNREG_BINARY")
}

/// Starts stnreg with `arguments`, output to files in `dir` (no pipe to fill up).
func startStnreg(_ arguments: [String], logTo dir: String, tag: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try stnregBinary())
    p.arguments = arguments
    _ = FileManager.default.createFile(atPath: dir + "/\(tag).out", contents: nil)
    _ = FileManager.default.createFile(atPath: dir + "/\(tag).err", contents: nil)
    p.standardOutput = FileHandle(forWritingAtPath: dir + "/\(tag).out")
    p.standardError = FileHandle(forWritingAtPath: dir + "/\(tag).err")
    try p.run()
    return p
}
