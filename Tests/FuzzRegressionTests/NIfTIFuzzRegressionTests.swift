import Foundation
import FuzzSupport
import NIfTIIO
import Testing
import TestSupport
import VolumeCore

/// The committed fuzz corpus, the inputs that once failed, and a bounded fuzz run (the long
/// runs are `stnfuzz nifti`, see README).
struct NIfTIFuzzRegressionTests {
    @Test func corpusIsSmallAndCoversEveryRejectionKindFound() throws {
        let files = corpusFiles()
        #expect(files.count >= 20, "corpus has \(files.count) files")
        var total = 0
        for f in files { total += (try FileManager.default.attributesOfItem(atPath: fuzzCorpusFolder + "/" + f)[.size] as? Int) ?? 0 }
        #expect(total < 1 << 20, "corpus is \(total) bytes")
    }

    /// Every corpus file gives exactly the outcome its name states when read whole, with a
    /// one-line message naming the file; reading one frame or the header is clean too.
    @Test(arguments: corpusFiles())
    func corpusFileGivesItsOutcome(_ name: String) throws {
        let path = fuzzCorpusFolder + "/" + name
        let expected = String(name.prefix(while: { $0 != "-" }))
        let target = NIfTIFuzzTarget(maxVoxelBytes: 64 << 20)
        let outcome = target.read(path, entry: .read)
        if expected == "ok" {
            guard case .accepted = outcome else { Issue.record("\(name): \(outcome)"); return }
        } else {
            #expect(NIfTIError.Kind(rawValue: expected) != nil, "\(name): unknown kind prefix")
            #expect(outcome == .rejected(kind: expected), "\(name)")
        }
        for entry in [NIfTIFuzzTarget.Entry.readVolume, .readHeader] {
            let other = target.read(path, entry: entry)
            #expect(!other.isFinding, "\(name) [\(entry)]: \(other)")
        }
    }

    /// Found by `stnfuzz nifti --seed 2`: a NIfTI-2 `.nii.gz` with vox_offset = 2⁶³ − 1 made
    /// `voxOffset + dataBytes` overflow in the header probe (a trap).
    @Test func hugeNIfTI2VoxOffsetInGzipIsAnErrorNotATrap() throws {
        let dir = makeTemporaryDirectory("fuzz-regression")
        var spec = NIfTISeedSpec()
        spec.version = 2
        var raw = spec.bytes()
        for n in 0..<8 { raw[168 + n] = n == 7 ? 0x7f : 0xff }   // vox_offset = Int64.max (little-endian)
        for (name, bytes) in [("v.nii.gz", GzipEncoder.gzip(raw)), ("v.nii", raw)] {
            let path = dir + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let e = #expect(throws: NIfTIError.self) { try NIfTIReader.read(path) }
            #expect(e?.kind == .badVoxOffset, "\(name): \(String(describing: e))")
            #expect(e?.description.hasPrefix(path) == true)
        }
    }

    /// A 70 KB `.nii.gz` whose header and forged ISIZE trailer both claim 160 MB of voxels: the
    /// probe used to trust ISIZE for small files and allocate what the header asked for before
    /// finding the data missing. Deflate cannot expand more than ~1032:1: refused up front.
    @Test func forgedGzipSizeCannotDriveAnAllocation() throws {
        let dir = makeTemporaryDirectory("fuzz-regression")
        var spec = NIfTISeedSpec()
        spec.dim = [3, 40, 40, 10, 1, 1, 1, 1]
        var raw = spec.bytes()
        // dims 400 × 400 × 250, float32: 160 MB of data, but only 16,000 voxels present (more
        // than zlib decodes ahead while the probe reads the header, so zlib's own ISIZE check is
        // not reached; a smaller stream fails that check, also cleanly).
        for (n, d) in [400, 400, 250].enumerated() { raw[42 + 2 * n] = UInt8(d & 0xff); raw[43 + 2 * n] = UInt8(d >> 8) }
        var gz = GzipEncoder.gzip(raw)
        let claimed = UInt32(352 + 400 * 400 * 250 * 4)
        for n in 0..<4 { gz[gz.count - 4 + n] = UInt8(truncatingIfNeeded: claimed >> UInt32(8 * n)) }
        let path = dir + "/forged.nii.gz"
        try Data(gz).write(to: URL(fileURLWithPath: path))
        let e = #expect(throws: NIfTIError.self) { try NIfTIReader.read(path) }
        #expect(e?.kind == .truncated)
        #expect(e?.description.contains("cannot hold") == true, "\(String(describing: e))")
    }

    /// 2,000 seeded mutations through all three entry points: no crash (the test process would
    /// die), no finding, and each input under a second.
    @Test func boundedFuzzRunFindsNothing() throws {
        let dir = makeTemporaryDirectory("fuzz-bounded")
        let mutator = NIfTIMutator(seeds: NIfTISeeds.builtIn())
        let target = NIfTIFuzzTarget(maxVoxelBytes: 64 << 20)
        var kinds = Set<String>()
        var accepted = 0
        var slowest = 0.0
        for n in 0..<2_000 {
            let input = mutator.input(seed: 7, index: n)
            let t0 = DispatchTime.now().uptimeNanoseconds
            let outcome = target.run(bytes: input.bytes, at: dir + "/input" + input.fileExtension,
                                     entry: NIfTIFuzzTarget.Entry(rawValue: n % 3)!)
            slowest = max(slowest, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            switch outcome {
            case .accepted: accepted += 1
            case .rejected(let k): kinds.insert(k)
            case .finding(let f): Issue.record("input \(n) (\(input.recipe.joined(separator: "; "))): \(f)")
            }
        }
        #expect(slowest < 1, "slowest input took \(slowest) s")
        #expect(kinds.count >= 8, "only \(kinds.sorted()) seen")
        #expect(accepted > 100)
    }

    /// The mutator is a pure function of (seed, index): a reported input can be rebuilt.
    @Test func inputsAreReproducible() {
        let m = NIfTIMutator(seeds: NIfTISeeds.builtIn())
        for n in [0, 17, 999] {
            #expect(m.input(seed: 3, index: n).bytes == m.input(seed: 3, index: n).bytes)
        }
        #expect(m.input(seed: 3, index: 1).bytes != m.input(seed: 4, index: 1).bytes)
    }

    /// The seeds themselves are valid files (else the fuzzer would only test the first checks).
    @Test func everyBuiltInSeedReads() throws {
        let dir = makeTemporaryDirectory("fuzz-seeds")
        let target = NIfTIFuzzTarget()
        for s in NIfTISeeds.builtIn() {
            let outcome = target.run(bytes: s.stored, at: dir + "/seed" + s.fileExtension, entry: .read)
            guard case .accepted = outcome else { Issue.record("\(s.name)\(s.fileExtension): \(outcome)"); continue }
        }
    }
}
