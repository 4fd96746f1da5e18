import Foundation
import NIfTIIO
import Registration
import Sampling
import Testing
import TestSupport
import TransformIO
import VolumeCore
import Workflows

/// Writes a phantom atlas and a scan moved by `truth` (atlasToScan), plus a small protocol, to a temp folder.
struct PhantomCase {
    let dir: String
    let atlasPath: String
    let scanPath: String
    let protocolPath: String
    let truth: Affine
    let atlasGrid: Grid

    init(truth: Affine = Decomposition(translation: SIMD3(5, -3, 2), rotationDegrees: SIMD3(6, 0, -8)).affine) throws {
        dir = makeTemporaryDirectory("stnreg-align")
        self.truth = truth
        atlasGrid = Grid(dims: SIMD3(26, 28, 24), spacingMM: SIMD3(4, 4, 4), origin: SIMD3(-50, -54, -46))
        let atlas = Phantom.blobs(grid: atlasGrid)
        // An oblique, anisotropic scan grid (LAS storage) covering the moved phantom.
        let scanGrid = Grid(dims: SIMD3(30, 26, 32),
                            voxelToWorld: Affine(linear: Matrix3.diagonal(SIMD3(-4, 4.5, 3.5)), translation: SIMD3(60, -58, -54)))
        let scan = resample(atlas, onto: scanGrid, atlasToScan: truth.inverse!)
        atlasPath = dir + "/atlas.nii.gz"
        scanPath = dir + "/scan.nii"
        try NIfTIWriter.write(atlas, to: atlasPath, datatype: .float32)
        try NIfTIWriter.write(scan, to: scanPath, datatype: .float32)
        var p = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json")
        p.transform = .rigid
        p.network = nil
        p.initialisation.searchSpacingMM = 8
        p.initialisation.rotationSearch = .never
        p.levels = [.init(spacingMM: 8, iterations: 50), .init(spacingMM: 4, iterations: 50)]
        protocolPath = dir + "/phantom.json"
        try p.canonicalJSON().write(to: URL(fileURLWithPath: protocolPath))
    }

    func job(prefix: String, threads: Int = 2) -> AlignJob {
        AlignJob(scanPath: scanPath, atlasPath: atlasPath, prefix: dir + "/" + prefix, protocolName: protocolPath,
                 threads: threads, commandLine: ["test"])
    }
}

let repositoryFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

struct AlignJobTests {
    @Test func writesEveryOutputAndRecoversTheTransform() throws {
        let c = try PhantomCase()
        let outcome = try c.job(prefix: "out").run()
        for (_, path) in outcome.outputs.all { #expect(FileManager.default.fileExists(atPath: path), "\(path)") }
        #expect(outcome.outputs.all.count == 7)
        let err = Affine.maxAbsDifference(outcome.record.atlasToScan, c.truth)
        #expect(err < 0.05, "max entry error \(err)")
        // The JSON record reads back to the same transform.
        let back = try TransformFile.read(path: outcome.outputs[.transform])
        #expect(Affine.maxAbsDifference(back, outcome.record.atlasToScan) < Tolerance.transformFileRoundTrip)
        // The warped output is on the atlas grid.
        let warped = try NIfTIReader.readHeader(outcome.outputs[.warped])
        #expect(warped.gridDims == c.atlasGrid.dims)
        #expect(Affine.maxAbsDifference(warped.voxelToWorld, c.atlasGrid.voxelToWorld) < Tolerance.float32HeaderMatrix)
        // The version is the one of `stnreg --version`.
        #expect(outcome.record.tool == "stnreg " + STNRegBuild.version)
        // Input hashes are recorded: the SHA-256 of each file's bytes (checked against coreutils).
        #expect(outcome.record.scan.sha256 == (try referenceSHA256(ofFile: c.scanPath)))
        #expect(outcome.record.atlas.sha256 == (try referenceSHA256(ofFile: c.atlasPath)))
        #expect(outcome.record.protocolUsed.sha256 == (try referenceSHA256(ofFile: c.protocolPath)))
    }

    @Test func everyTransformFileReproducesTheWarpedScanThroughApply() throws {
        let c = try PhantomCase()
        let outcome = try c.job(prefix: "out").run()
        let reference = try NIfTIReader.readVolume(outcome.outputs[.warped])
        for key: AlignOutputs.Role in [.transform, .itk, .ants, .fsl, .niftyreg, .lta] {
            let out = c.dir + "/applied_\(key).nii.gz"
            try ApplyJob(transformPath: outcome.outputs[key], movingPath: c.scanPath, referencePath: c.atlasPath,
                         outputPath: out).run()
            let v = try NIfTIReader.readVolume(out)
            var worst: Float = 0
            for n in 0..<v.voxels.count { worst = max(worst, abs(v.voxels[n] - reference.voxels[n])) }
            #expect(worst < Float(Tolerance.float32Interpolated), "\(key): max difference \(worst)")
        }
    }

    @Test func inverseApplyMapsTheAtlasIntoScanSpace() throws {
        let c = try PhantomCase()
        let outcome = try c.job(prefix: "out").run()
        let out = c.dir + "/atlas_in_scan.nii.gz"
        try ApplyJob(transformPath: outcome.outputs[.itk], movingPath: c.atlasPath, referencePath: c.scanPath,
                     outputPath: out, inverse: true).run()
        let back = try NIfTIReader.readVolume(out)
        let scan = try NIfTIReader.readVolume(c.scanPath)
        // Compare where both are well inside: correlation close to 1.
        var sxy = 0.0, sxx = 0.0, syy = 0.0, sx = 0.0, sy = 0.0, n = 0.0
        for i in 0..<scan.voxels.count where scan.voxels[i] > 5 && back.voxels[i] > 5 {
            let x = Double(scan.voxels[i]), y = Double(back.voxels[i])
            sxy += x * y; sxx += x * x; syy += y * y; sx += x; sy += y; n += 1
        }
        let r = (sxy / n - sx / n * sy / n) / ((sxx / n - sx * sx / n / n) * (syy / n - sy * sy / n / n)).squareRoot()
        #expect(r > 0.99, "correlation \(r)")
    }

    @Test func identicalOutputsWithOneAndTwoThreads() throws {
        let c = try PhantomCase()
        let a = try c.job(prefix: "t1", threads: 1).run()
        let b = try c.job(prefix: "t2", threads: 2).run()
        #expect(a.record.atlasToScan == b.record.atlasToScan)
        for key: AlignOutputs.Role in [.warped, .itk, .ants, .fsl, .niftyreg] {
            let da = try Data(contentsOf: URL(fileURLWithPath: a.outputs[key]))
            let db = try Data(contentsOf: URL(fileURLWithPath: b.outputs[key]))
            #expect(da == db, "\(key) differs between 1 and 2 threads")
        }
    }

    /// Two runs with the same settings (2 threads), and the record's transform: identical bytes;
    /// the LTA too (it carries no date). Then `apply` of the result with 1 and 2 threads, twice.
    @Test func identicalOutputsAcrossRunsAndForApply() throws {
        let c = try PhantomCase()
        let a = try c.job(prefix: "r1", threads: 2).run()
        let b = try c.job(prefix: "r2", threads: 2).run()
        #expect(a.record.atlasToScan == b.record.atlasToScan)
        #expect(a.record.flags == b.record.flags)
        for key: AlignOutputs.Role in [.warped, .itk, .ants, .fsl, .niftyreg, .lta] {
            let da = try Data(contentsOf: URL(fileURLWithPath: a.outputs[key]))
            let db = try Data(contentsOf: URL(fileURLWithPath: b.outputs[key]))
            #expect(da == db, "\(key) differs between two runs")
        }
        var applied: [Data] = []
        for (n, threads) in [1, 2, 1, 2].enumerated() {
            let out = c.dir + "/applied\(n).nii.gz"
            try ApplyJob(transformPath: a.outputs[.transform], movingPath: c.scanPath, referencePath: c.atlasPath,
                         outputPath: out, threads: threads).run()
            applied.append(try Data(contentsOf: URL(fileURLWithPath: out)))
        }
        #expect(Set(applied).count == 1, "apply output differs between threads or runs")
    }

    @Test func refusesToWriteOverAnInput() throws {
        let c = try PhantomCase()
        // A prefix whose "_warped.nii.gz" is the atlas itself.
        let atlasCopy = c.dir + "/x_warped.nii.gz"
        try FileManager.default.copyItem(atPath: c.atlasPath, toPath: atlasCopy)
        let job = AlignJob(scanPath: c.scanPath, atlasPath: atlasCopy, prefix: c.dir + "/x", protocolName: c.protocolPath,
                           threads: 1, commandLine: ["test"])
        #expect(throws: AtomicFile.WriteError.self) { try job.run() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: atlasCopy)) == Data(contentsOf: URL(fileURLWithPath: c.atlasPath)))
    }

    @Test func missingOutputFolderIsOneClearLine() throws {
        let c = try PhantomCase()
        let job = AlignJob(scanPath: c.scanPath, atlasPath: c.atlasPath, prefix: c.dir + "/nope/out", protocolName: c.protocolPath,
                           threads: 1, commandLine: ["test"])
        do {
            _ = try job.run()
            Issue.record("expected an error")
        } catch {
            let text = String(describing: error)
            #expect(text.contains("nope"))
            #expect(text.contains("does not exist"))
            #expect(!text.contains("\n"))
        }
    }

    @Test func defaultPrefixNamesScanAndAtlas() {
        #expect(AlignJob.defaultPrefix(scan: "/data/sub-01_T1w.nii.gz", atlas: "mni152_t1_2mm.nii") == "sub-01_T1w_space-mni152_t1_2mm")
    }
}
