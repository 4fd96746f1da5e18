import Foundation
import NIfTIIO
import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore
import Workflows

/// A small, fast protocol for tiny volumes.
func tinyProtocol(_ edit: (inout RegistrationProtocol) -> Void = { _ in }) throws -> RegistrationProtocol {
    var p = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json")
    p.initialisation.searchSpacingMM = 8
    p.initialisation.rotationSearch = .never
    p.network = nil   // the search path: no model file, fast
    p.levels = [.init(spacingMM: 8, iterations: 15), .init(spacingMM: 4, iterations: 15)]
    edit(&p)
    return p
}

let tinyGrid = Grid(dims: SIMD3(14, 16, 12), spacingMM: SIMD3(4, 4, 4), origin: SIMD3(-26, -30, -22))

/// What a registration of a degenerate pair did: threw (the error), or returned (the result).
enum DegenerateOutcome {
    case error(String)
    case result(RegistrationResult)
}

/// Registers and checks the promise of issue 7: a `RegistrationError` on one line, or a
/// result whose transform is finite and invertible, or flagged `invalidTransform`; never a
/// crash or a hang (the test would die or time out).
func registerDegenerate(scan: Volume, atlas: Volume, protocol p: RegistrationProtocol,
                        sourceLocation: SourceLocation = #_sourceLocation) -> DegenerateOutcome {
    do {
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        let valid = r.atlasToScan.isFinite && r.atlasToScan.inverse != nil && r.similarityAfter.isFinite
        #expect(valid || r.flags.contains(.invalidTransform), "unflagged invalid result: \(r.atlasToScan)", sourceLocation: sourceLocation)
        #expect(r.atlasToScan.isFinite || r.flags.contains(.invalidTransform), sourceLocation: sourceLocation)
        return .result(r)
    } catch let e as RegistrationError {
        #expect(!e.description.contains("\n"), sourceLocation: sourceLocation)
        return .error(e.description)
    } catch {
        Issue.record("unexpected error type \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return .error("\(error)")
    }
}

struct DegenerateImageTests {
    let atlas = Phantom.blobs(grid: tinyGrid)

    @Test func allZeroScanIsAnError() throws {
        let outcome = registerDegenerate(scan: Volume(grid: tinyGrid), atlas: atlas, protocol: try tinyProtocol())
        guard case .error(let text) = outcome else { Issue.record("expected an error"); return }
        #expect(text == "the scan has no foreground (every voxel is at its minimum); check the scan file")
    }

    @Test func constantAtlasIsAnError() throws {
        var constant = Volume(grid: tinyGrid)
        for n in constant.voxels.indices { constant.voxels[n] = 37 }
        let outcome = registerDegenerate(scan: atlas, atlas: constant, protocol: try tinyProtocol())
        guard case .error(let text) = outcome else { Issue.record("expected an error"); return }
        #expect(text == "the atlas has no foreground (every voxel is at its minimum); check the atlas file")
    }

    @Test func singleSliceScanIsAnError() throws {
        let g = Grid(dims: SIMD3(14, 16, 1), spacingMM: SIMD3(4, 4, 4), origin: SIMD3(-26, -30, 0))
        let outcome = registerDegenerate(scan: resample(atlas, onto: g, atlasToScan: .identity), atlas: atlas, protocol: try tinyProtocol())
        guard case .error(let text) = outcome else { Issue.record("expected an error, got \(outcome)"); return }
        #expect(text == "the scan is 14×16×1 voxels (a single slice or one voxel thick); 3D registration needs at least 2 voxels along every axis")
    }

    @Test func oneVoxelThickAtlasIsAnError() throws {
        let g = Grid(dims: SIMD3(1, 16, 12), spacingMM: SIMD3(4, 4, 4), origin: SIMD3(0, -30, -22))
        let thin = resample(atlas, onto: g, atlasToScan: .identity)
        guard case .error(let text) = registerDegenerate(scan: atlas, atlas: thin, protocol: try tinyProtocol()) else {
            Issue.record("expected an error"); return
        }
        #expect(text.hasPrefix("the atlas is 1×16×12 voxels (a single slice or one voxel thick)"))
    }

    /// 0.1 × 1 × 10 mm voxels (a 4 mm thin slab of the phantom): finishes with a finite transform,
    /// flagged because so little of the atlas is covered.
    @Test func extremeAnisotropyIsFiniteAndFlagged() throws {
        let g = Grid(dims: SIMD3(40, 16, 6), spacingMM: SIMD3(0.1, 1, 10), origin: SIMD3(-2, -8, -25))
        let scan = resample(atlas, onto: g, atlasToScan: .identity)
        guard case .result(let r) = registerDegenerate(scan: scan, atlas: atlas, protocol: try tinyProtocol()) else {
            Issue.record("expected a result"); return
        }
        #expect(r.atlasToScan.isFinite)
        #expect(r.flags.contains(.lowSimilarity), "\(r.flags)")
    }

    /// Intensities scaled by 1e30 register like the original (robust normalisation in Double);
    /// two voxels at ±3e38 (near Float.max) leave a finite, flagged result.
    @Test func hugeIntensityRanges() throws {
        var scan = atlas
        for n in scan.voxels.indices { scan.voxels[n] = scan.voxels[n] * 1e30 }
        guard case .result(let r) = registerDegenerate(scan: scan, atlas: atlas, protocol: try tinyProtocol()) else {
            Issue.record("expected a result"); return
        }
        #expect(Affine.maxAbsDifference(r.atlasToScan, .identity) < 0.01, "\(r.atlasToScan)")
        #expect(r.flags.isEmpty)
        var extreme = atlas
        extreme.voxels[0] = 3e38; extreme.voxels[1] = -3e38
        guard case .result(let r2) = registerDegenerate(scan: extreme, atlas: atlas, protocol: try tinyProtocol()) else {
            Issue.record("expected a result"); return
        }
        #expect(r2.atlasToScan.isFinite && r2.similarityAfter.isFinite)
        #expect(r2.flags.contains(where: \.isFailure) || Affine.maxAbsDifference(r2.atlasToScan, .identity) < 0.05)
    }

    /// The scan 2 m away and no centre-of-mass or translation search: nothing overlaps. The result
    /// keeps a finite transform and is flagged (similarity 0), never NaN.
    @Test func noOverlapIsFlagged() throws {
        let far = Grid(dims: tinyGrid.dims, spacingMM: SIMD3(4, 4, 4), origin: SIMD3(2000, -30, -22))
        let p = try tinyProtocol { $0.initialisation.centreOfMass = false; $0.initialisation.translationSearch = false }
        guard case .result(let r) = registerDegenerate(scan: Phantom.blobs(grid: far), atlas: atlas, protocol: p) else {
            Issue.record("expected a result"); return
        }
        #expect(r.atlasToScan.isFinite)
        #expect(r.similarityAfter == 0)
        #expect(r.flags.contains(.lowSimilarity))
    }

    /// NaN/Inf voxels: the reader rejects the file by default (align stops with the reader's
    /// message); read with `.replaceWithZero`, the pipeline registers it normally.
    @Test func nonFiniteVoxels() throws {
        let dir = makeTemporaryDirectory("degenerate-nan")
        var scan = atlas
        scan.voxels[5] = .nan; scan.voxels[77] = .infinity; scan.voxels[300] = -.infinity
        let scanPath = dir + "/nan.nii", atlasPath = dir + "/atlas.nii"
        try NIfTIWriter.write(scan, to: scanPath)
        try NIfTIWriter.write(atlas, to: atlasPath)
        let e = #expect(throws: NIfTIError.self) { try NIfTIReader.read(scanPath) }
        #expect(e?.kind == .nonFiniteVoxels)
        #expect(e?.description == "\(scanPath): 3 of 2688 voxels are NaN or infinite (after scaling). Fix the image: give those voxels a finite value (0 for background)")
        let protocolPath = dir + "/p.json"
        try tinyProtocol().canonicalJSON().write(to: URL(fileURLWithPath: protocolPath))
        let job = AlignJob(scanPath: scanPath, atlasPath: atlasPath, prefix: dir + "/out", protocolName: protocolPath, threads: 1, commandLine: ["test"])
        // align and batch name the user's way on: --non-finite zero.
        let refused = #expect(throws: NIfTIError.self) { try job.run() }
        #expect(refused?.description == "\(scanPath): 3 of 2688 voxels are NaN or infinite (after scaling). Fix the image, or run with --non-finite zero to treat those voxels as background (0; the count is recorded in the audit record)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out_transform.json"))

        let replaced = try NIfTIReader.read(scanPath, options: .init(nonFinite: .replaceWithZero))
        #expect(replaced.nonFiniteReplaced == 3)
        guard case .result(let r) = registerDegenerate(scan: replaced.frame(0), atlas: atlas, protocol: try tinyProtocol()) else {
            Issue.record("expected a result"); return
        }
        #expect(r.flags.isEmpty, "\(r.flags)")
        #expect(Affine.maxAbsDifference(r.atlasToScan, .identity) < 0.5)   // 3 voxels changed; 4 mm voxels
    }

    /// An all-zero scan through `stnreg align`: one AlignError line naming both files, no output.
    @Test func alignOfAnEmptyScanWritesNothing() throws {
        let dir = makeTemporaryDirectory("degenerate-align")
        let scanPath = dir + "/zero.nii", atlasPath = dir + "/atlas.nii.gz"
        try NIfTIWriter.write(Volume(grid: tinyGrid), to: scanPath)
        try NIfTIWriter.write(atlas, to: atlasPath)
        let protocolPath = dir + "/p.json"
        try tinyProtocol().canonicalJSON().write(to: URL(fileURLWithPath: protocolPath))
        let job = AlignJob(scanPath: scanPath, atlasPath: atlasPath, prefix: dir + "/out", protocolName: protocolPath,
                           threads: 1, commandLine: ["test"])
        let e = #expect(throws: AlignError.self) { try job.run() }
        #expect(e?.description.hasPrefix("\(scanPath) → \(atlasPath): the scan has no foreground") == true, "\(String(describing: e))")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("out") || $0.hasPrefix(".out") }
        #expect(left.isEmpty, "\(left)")
    }
}

/// `--non-finite zero` on `stnreg align` and `stnreg batch`: NaN/±Inf voxels become background
/// and the audit record says so; without it the run fails and the message names the flag.
@Suite struct NonFiniteOptionTests {
    func lastRecord(_ log: String) throws -> [String: Any] {
        let last = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last ?? ""
        return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
    }

    @Test func alignAndBatchTreatNonFiniteVoxelsAsBackgroundAndRecordIt() throws {
        let dir = makeTemporaryDirectory("non-finite-option")
        let atlas = Phantom.blobs(grid: tinyGrid)
        var scan = atlas
        scan.voxels[5] = .nan; scan.voxels[77] = .infinity; scan.voxels[300] = -.infinity
        let scanPath = dir + "/nan.nii", atlasPath = dir + "/atlas.nii", protocolPath = dir + "/p.json"
        try NIfTIWriter.write(scan, to: scanPath)
        try NIfTIWriter.write(atlas, to: atlasPath)
        try tinyProtocol().canonicalJSON().write(to: URL(fileURLWithPath: protocolPath))

        let refused = try runBuiltStnreg(["align", scanPath, atlasPath, "-o", dir + "/r", "--protocol", protocolPath, "-q", "--audit-log", dir + "/r.jsonl"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("run with --non-finite zero to treat those voxels as background"), "\(refused.err)")
        #expect(try lastRecord(dir + "/r.jsonl")["nonFinite"] as? NSDictionary == ["policy": "reject", "replaced": [:] as [String: Int]])

        let r = try runBuiltStnreg(["align", scanPath, atlasPath, "-o", dir + "/z", "--protocol", protocolPath, "--non-finite", "zero", "-q",
                                    "--audit-log", dir + "/z.jsonl"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try lastRecord(dir + "/z.jsonl")["nonFinite"] as? NSDictionary == ["policy": "zero", "replaced": ["scan": 3, "atlas": 0]])

        let bad = try runBuiltStnreg(["align", scanPath, atlasPath, "--non-finite", "nan"])
        #expect(bad.status != 0 && bad.err.contains("'nan'") && bad.err.contains("reject") && bad.err.contains("zero"), "\(bad.err)")

        let b = try runBuiltStnreg(["batch", "--atlas", atlasPath, scanPath, "-o", dir + "/batch", "--protocol", protocolPath,
                                    "--non-finite", "zero", "-q", "--jobs", "1", "--threads", "1"])
        #expect(b.status == 0, "\(b.out) \(b.err)")
        #expect(try lastRecord(dir + "/batch/stnreg-audit.jsonl")["nonFinite"] as? NSDictionary == ["policy": "zero", "replaced": ["scan": 3, "atlas": 0]])
    }
}

/// `--signing-key` on `stnreg align` and `stnreg batch` (a shard): every record they append is
/// signed, and `audit verify --trusted-keys` checks it.
@Suite struct AlignBatchSigningTests {
    @Test func alignAndABatchShardSignTheirRecords() throws {
        let dir = makeTemporaryDirectory("align-batch-signing")
        let atlas = Phantom.blobs(grid: tinyGrid)
        let scanPath = dir + "/scan.nii", atlasPath = dir + "/atlas.nii", protocolPath = dir + "/p.json"
        try NIfTIWriter.write(atlas, to: scanPath)
        try NIfTIWriter.write(atlas, to: atlasPath)
        try tinyProtocol().canonicalJSON().write(to: URL(fileURLWithPath: protocolPath))
        #expect(try runBuiltStnreg(["audit", "keygen", dir + "/task.key"]).status == 0)
        let a = try runBuiltStnreg(["align", scanPath, atlasPath, "-o", dir + "/a", "--protocol", protocolPath, "-q",
                                    "--audit-log", dir + "/a.jsonl", "--signing-key", dir + "/task.key"])
        #expect(a.status == 0, "\(a.err)")
        let b = try runBuiltStnreg(["batch", "--atlas", atlasPath, scanPath, "-o", dir + "/batch", "--protocol", protocolPath, "--shard", "1/1",
                                    "-q", "--jobs", "1", "--threads", "1", "--signing-key", dir + "/task.key"])
        #expect(b.status == 0, "\(b.out) \(b.err)")
        for log in [dir + "/a.jsonl", dir + "/batch/stnreg-audit.shard-1-of-1.jsonl"] {
            let v = try runBuiltStnreg(["audit", "verify", log, "--trusted-keys", dir + "/task.key.pub"])
            #expect(v.status == 0 && v.out == "\(log): intact (1 record, 1 signature checked, 7 output files re-hashed)\n", "\(v.out)")
        }
        let other = try runBuiltStnreg(["audit", "keygen", dir + "/other.key"])
        #expect(other.status == 0)
        let u = try runBuiltStnreg(["audit", "verify", dir + "/a.jsonl", "--trusted-keys", dir + "/other.key.pub"])
        #expect(u.status == 1 && u.out.contains("\(dir)/a.jsonl:1: unknownKey: signed by key "), "\(u.out)")
    }
}
