import AuditLog
import Foundation
import NIfTIIO
import Registration
import Testing
import TestSupport
import TransformIO
import VolumeCore
import Workflows

/// Byte-compared outputs of a 3D item (the transform JSON holds a time stamp and timings, so its
/// matrix is compared instead).
let comparedSuffixes = ["_warped.nii.gz", "_itk.tfm", "_ants.mat", "_fsl.mat", "_niftyreg.txt", ".lta"]

@Suite(.serialized)
struct BatchJobTests {
    @Test func twoWorkersGiveTheBytesOfAlignOneByOne() throws {
        let c = try BatchCase(scans: 4)
        let out = try c.out("batch")
        let summary = try c.batch(out, jobs: 2, threads: 2).run()
        #expect(summary.done == 4 && summary.failed == 0 && summary.workers == 2 && summary.threadsPerRegistration == 1)
        let one = try c.out("one")
        for (n, scan) in c.scanPaths.enumerated() {
            let item = summary.results[n]
            #expect(item.item.prefix == out + "/" + AlignJob.fileStem(scan) + "_space-atlas_desc-rigid")
            // `stnreg align` with all (2) threads, one scan at a time.
            let align = try AlignJob(scanPath: scan, atlasPath: c.atlasPath, prefix: one + "/" + AlignJob.fileStem(scan),
                                     protocolName: c.protocolPath, threads: 2, commandLine: ["test"], useNetwork: false).run()
            for suffix in comparedSuffixes {
                let a = bytes(item.item.prefix + suffix), b = bytes(one + "/" + AlignJob.fileStem(scan) + suffix)
                #expect(a != nil && a == b, "\(suffix) of \(scan) differs from align")
            }
            let t = try TransformFile.read(path: item.item.prefix + "_transform.json")
            #expect(t == align.record.atlasToScan)
            #expect(Affine.maxAbsDifference(t, c.truths[n]) < 0.5)   // mm / matrix entries, small phantom
        }
        let rs = try records(summary.logPath)
        #expect(summary.logPath == out + "/stnreg-audit.jsonl")
        #expect(rs.count == 4 && Set(rs.map(itemName)).count == 4 && rs.allSatisfy { $0.fields["status"]?.string == "ok" })
        #expect(try AuditVerifier.verify(path: summary.logPath).isIntact)
    }

    @Test func rerunSkipsDoneItemsRedoesBrokenOnesAndForceRedoesAll() throws {
        let c = try BatchCase(scans: 3)
        let out = try c.out("batch")
        _ = try c.batch(out).run()
        let log = out + "/stnreg-audit.jsonl"
        // Same command again: nothing runs, nothing is appended.
        let again = try c.batch(out).run()
        #expect(again.skipped == 3 && again.done == 0)
        #expect(try records(log).count == 3)
        // A changed output and a missing output: those two items run again, the third does not.
        let first = again.results[0].item.prefix, second = again.results[1].item.prefix
        try Data("changed".utf8).write(to: URL(fileURLWithPath: first + "_fsl.mat"))
        try FileManager.default.removeItem(atPath: second + "_warped.nii.gz")
        let repaired = try c.batch(out).run()
        #expect(repaired.results.map(\.status) == [.done, .done, .skipped])
        #expect(try records(log).count == 5)
        // An item with outputs but no record (a run killed between the two) is not done.
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        let lastItem = itemName(try records(log).last!)
        try Data((lines.dropLast().joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: log))
        let afterCut = try c.batch(out).run()
        #expect(afterCut.results.map { $0.item.name == lastItem ? $0.status == .done : $0.status == .skipped } == [true, true, true])
        #expect(afterCut.done == 1)
        // --force redoes everything.
        let forced = try c.batch(out, force: true).run()
        #expect(forced.done == 3)
        let v = try AuditVerifier.verify(path: log)
        #expect(v.isIntact, "\(v.problems)")
        #expect(try records(log).count == 8)
    }

    @Test func aFailingItemIsRecordedAndTheBatchGoesOn() throws {
        let c = try BatchCase(scans: 2)
        let bad = c.inputDir + "/sub-50_T1w.nii.gz"
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: bad))
        let out = try c.out("batch")
        let inputs = try InputExpansion.expand([c.inputDir])
        #expect(inputs.count == 3)
        let s = try c.batch(out, inputs: inputs).run()
        #expect(s.done == 2 && s.failed == 1)
        let failed = try #require(s.results.first { $0.status == .failed })
        #expect(failed.item.name == "sub-50_T1w.nii.gz")
        #expect(failed.message?.contains("sub-50_T1w.nii.gz") == true)
        let rs = try records(s.logPath)
        #expect(rs.count == 3)
        let rec = try #require(rs.first { itemName($0) == "sub-50_T1w.nii.gz" })
        #expect(rec.fields["status"]?.string == "failed")
        #expect(rec.fields["error"]?.string?.isEmpty == false)
        // Re-running retries only the failed item.
        let again = try c.batch(out, inputs: inputs).run()
        #expect(again.skipped == 2 && again.failed == 1)
        #expect(try AuditVerifier.verify(path: s.logPath).isIntact)
    }

    @Test func aFailedQualityCheckIsAFailureWithItsOutputsKept() throws {
        let c = try BatchCase(scans: 1)
        var p = try RegistrationProtocol.load(path: c.protocolPath)
        p.limits.minFinalSimilarity = 1   // an interpolated result never reaches NCC 1
        p.limits.minFinalSimilarityBrainAtlas = 1   // the same against a brain atlas
        let strict = c.dir + "/strict.json"
        try p.canonicalJSON().write(to: URL(fileURLWithPath: strict))
        let out = try c.out("batch")
        var job = c.batch(out)
        job.protocolName = strict
        let s = try job.run()
        #expect(s.failed == 1)
        #expect(s.results[0].message?.contains("lowSimilarity") == true)
        let r = try #require(try records(s.logPath).first)
        #expect(r.fields["status"]?.string == "failed")
        #expect((r.fields["outputs"]?.array ?? []).count == 7)
        #expect(FileManager.default.fileExists(atPath: s.results[0].item.prefix + "_warped.nii.gz"))
    }

    @Test func seriesFramesToTheirOwnFrame() throws {
        let c = try BatchCase(scans: 0, seriesFrames: 4)
        let out = try c.out("moco")
        let s = try c.batch(out, inputs: [c.seriesPath!], jobs: 1, toFrame: 0, withAtlas: false).run()
        #expect(s.done == 1, "\(s.results.map { $0.message ?? "" })")
        let prefix = out + "/sub-99_bold_space-frame0_desc-rigid"
        #expect(s.results[0].item.prefix == prefix && s.results[0].kind == "series" && s.results[0].frames == 4)
        let warped = try NIfTIReader.read(prefix + "_warped.nii.gz")
        #expect(warped.frameCount == 4 && warped.grid.dims == BatchCase.atlasGrid.dims)
        // Each frame's transform recovers the known motion.
        struct SeriesFile: Decodable { var format: String; var frames: [TransformRecord] }
        let file = try JSONDecoder().decode(SeriesFile.self, from: try #require(bytes(prefix + "_transforms.json")))
        #expect(file.format == "stnreg-series-transforms" && file.frames.count == 4)
        for (t, r) in file.frames.enumerated() {
            #expect(Affine.maxAbsDifference(r.atlasToScan, c.seriesMotion[t]) < 0.5, "frame \(t)")
        }
        let rec = try #require(try records(s.logPath).first)
        let recFrames = rec.fields["frames"]?.array ?? []
        #expect(rec.fields["command"]?.string == "series" && recFrames.count == 4)
        for (t, f) in recFrames.enumerated() {
            let e = (f["atlasToScan"]?.array ?? []).flatMap { $0.array ?? [] }.compactMap(\.number)
            let a = try #require(Affine(rowMajor4x4: e))
            #expect(Affine.maxAbsDifference(a, c.seriesMotion[t]) < 0.5, "frame \(t)")
            // The minimum the frame's check applied, as in the frame's transform record (not null).
            #expect(f["similarity"]?["minimum"]?.number == file.frames[t].similarityMinimum && file.frames[t].similarityMinimum != nil, "frame \(t)")
        }
        let csv = try String(contentsOfFile: prefix + "_motion.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 5 && csv[0].hasPrefix("frame,translation_x_mm"))
        let png = try #require(bytes(prefix + "_motion.png"))
        #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        #expect((rec.fields["outputs"]?.array ?? []).count == 4)
        #expect(try AuditVerifier.verify(path: s.logPath).isIntact)
        // Resumable like scans.
        #expect(try c.batch(out, inputs: [c.seriesPath!], jobs: 1, toFrame: 0, withAtlas: false).run().skipped == 1)
        // The rigid preset is the default for frames.
        #expect(BatchJob(atlasPath: nil, inputs: [], outputFolder: out, toFrame: 0).effectiveProtocol == "rigid-same-subject")
    }

    @Test func seriesFramesToTheAtlas() throws {
        let c = try BatchCase(scans: 1, seriesFrames: 3)
        let out = try c.out("batch")
        let s = try c.batch(out, inputs: c.scanPaths + [c.seriesPath!]).run()
        #expect(s.done == 2, "\(s.results.map { $0.message ?? "" })")
        #expect(s.results.map { $0.kind ?? "" } == ["scan", "series"])
        let warped = try NIfTIReader.read(out + "/sub-99_bold_space-atlas_desc-rigid_warped.nii.gz")
        #expect(warped.frameCount == 3 && warped.grid == BatchCase.atlasGrid)
    }

    @Test func threeShardsMergeToTheUnshardedRun() throws {
        let c = try BatchCase(scans: 6)
        let whole = try c.out("whole")
        let single = try c.batch(whole, jobs: 2).run()
        #expect(single.done == 6)
        let sharded = try c.out("sharded")
        var logs: [String] = []
        var counts: [Int] = []
        // Each shard sees the inputs in a different order: the assignment must not care.
        for k in 1...3 {
            let inputs = k == 2 ? Array(c.scanPaths.reversed()) : c.scanPaths
            let s = try c.batch(sharded, inputs: inputs, jobs: 1, shard: Shard(index: k, count: 3)).run()
            #expect(s.logPath == sharded + "/stnreg-audit.shard-\(k)-of-3.jsonl")
            #expect(s.otherShards == 6 - s.results.count)
            counts.append(s.done)
            if s.done > 0 { logs.append(s.logPath) }
        }
        #expect(counts.reduce(0, +) == 6)
        let merged = sharded + "/stnreg-audit.jsonl"
        #expect(try AuditMerge.merge(shards: logs, into: merged) == 6)
        #expect(try AuditVerifier.verify(path: merged).isIntact)
        let a = try records(single.logPath), b = try records(merged)
        #expect(Set(a.map(itemName)) == Set(b.map(itemName)))
        for r in a {
            let other = try #require(b.first { itemName($0) == itemName(r) })
            #expect(other.fields["atlasToScan"] == r.fields["atlasToScan"])
            let shaA = (r.fields["outputs"]?.array ?? []).filter { $0["role"]?.string != "transform" }.map { $0["sha256"] }
            let shaB = (other.fields["outputs"]?.array ?? []).filter { $0["role"]?.string != "transform" }.map { $0["sha256"] }
            #expect(shaA == shaB, "outputs of \(itemName(r))")
        }
    }

    /// The list grows between two submissions of a 3-shard array: items move to other shards, and
    /// each shard skips the items another shard has done (by their records): nothing twice.
    @Test func aChangedListMovesItemsButNothingIsDoneTwice() throws {
        let c = try BatchCase(scans: 8)
        let out = try c.out("sharded")
        let first = Array(c.scanPaths.suffix(6)), second = c.scanPaths   // two more scans, sorting first
        for k in 1...3 { #expect(try c.batch(out, inputs: first, jobs: 1, shard: Shard(index: k, count: 3)).run().done == 2) }
        let before = Shard.numbers(forInputs: first, count: 3), after = Shard.numbers(forInputs: second, count: 3)
        #expect(before != Array(after.suffix(6)))   // the other items did move
        var done: [String] = []
        for k in 1...3 {
            let s = try c.batch(out, inputs: second.reversed(), jobs: 1, shard: Shard(index: k, count: 3)).run()
            #expect(s.failed == 0)
            done += s.results.filter { $0.status == .done }.map(\.item.name)
            for r in s.results where r.status == .skipped { #expect(r.message?.contains("done before") == true) }
        }
        #expect(done.sorted() == ["sub-01_T1w.nii.gz", "sub-02_T1w.nii.gz"])
        let logs = (1...3).map { out + "/stnreg-audit.shard-\($0)-of-3.jsonl" }
        let merged = out + "/merged.jsonl"
        #expect(try AuditMerge.merge(shards: logs, into: merged) == 8)
        let rs = try records(merged)
        #expect(Set(rs.map(itemName)).count == 8 && rs.allSatisfy { $0.fields["status"]?.string == "ok" })
        #expect(try AuditVerifier.verify(path: merged).isIntact)
    }

    @Test func shardAssignmentIsStable() throws {
        let names = (1...300).map { String(format: "/data/sub-%03d/anat/sub-%03d_T1w.nii.gz", $0, $0) }
        let counts = (1...4).map { k in Shard(index: k, count: 4).members(of: names).filter { $0 }.count }
        #expect(counts.reduce(0, +) == 300 && counts.allSatisfy { $0 > 50 })
        // Only the file name counts: another mount point gives the same shard.
        let moved = names.map { "/scratch/x/" + URL(fileURLWithPath: $0).lastPathComponent }
        #expect(Shard.numbers(forInputs: names, count: 7) == Shard.numbers(forInputs: moved, count: 7))
        #expect(try Shard.parse("2/8") == Shard(index: 2, count: 8))
        for bad in ["0/8", "9/8", "2", "a/b", "2/0", ""] {
            #expect(throws: Shard.ParseError.self) { try Shard.parse(bad) }
        }
    }

    /// Every n ≤ 60 and N ≤ 12, with seeded random names: each shard gets ⌊n/N⌋ or ⌈n/N⌉ items,
    /// the shards are disjoint and cover the list, and neither the order of the list nor the
    /// folders matter.
    @Test func shardsAreBalancedAndOrderIndependentForEveryNAndN() {
        var rng = SeededGenerator(seed: 16)
        var worst = 0
        for n in 0...60 {
            // Random, distinct names of random lengths (some share long prefixes).
            var set = Set<String>()
            while set.count < n {
                let length = Int.random(in: 1...12, using: &rng)
                let stem = String((0..<length).map { _ in "ab0_-Zé".randomElement(using: &rng)! })
                set.insert((Bool.random(using: &rng) ? "sub-" : "") + stem + ".nii.gz")
            }
            let names = Array(set).map { "/data/" + $0 }
            let shuffled = names.shuffled(using: &rng).map { "/mnt/other/" + URL(fileURLWithPath: $0).lastPathComponent }
            for count in 1...12 {
                let a = Shard.numbers(forInputs: names, count: count)
                #expect(a.allSatisfy { (1...count).contains($0) })
                var sizes = Array(repeating: 0, count: count)
                for k in a { sizes[k - 1] += 1 }
                #expect(sizes.allSatisfy { $0 == n / count || $0 == (n + count - 1) / count }, "n \(n), N \(count): \(sizes)")
                worst = max(worst, (sizes.max() ?? 0) - (sizes.min() ?? 0))
                // Same shard for each name, whatever the order and the folder.
                let b = Shard.numbers(forInputs: shuffled, count: count)
                let byName = Dictionary(uniqueKeysWithValues: zip(shuffled.map { URL(fileURLWithPath: $0).lastPathComponent }, b))
                #expect(zip(names, a).allSatisfy { byName[URL(fileURLWithPath: $0.0).lastPathComponent] == $0.1 }, "n \(n), N \(count)")
                // members(of:) of the N shards partition the list.
                let members = (1...count).map { Shard(index: $0, count: count).members(of: names) }
                #expect(names.indices.allSatisfy { i in members.filter { $0[i] }.count == 1 })
            }
        }
        #expect(worst == 1)
    }

    /// The small lists of issue #16 (1/1/4 over 3 shards and 3/0/0/1/1/1/1/0 over 8 by name hash).
    @Test func smallListsAreDealtEvenly() {
        let six = (1...6).map { String(format: "/d/sub-%02d_T1w.nii.gz", $0) }
        #expect(Shard.numbers(forInputs: six, count: 3) == [1, 2, 3, 1, 2, 3])
        #expect(Shard.numbers(forInputs: six.reversed(), count: 3) == [3, 2, 1, 3, 2, 1])
        #expect(Shard.numbers(forInputs: six, count: 8) == [1, 2, 3, 4, 5, 6])
    }

    @Test func duplicateFileNamesAreRefusedBeforeAnythingRuns() throws {
        let c = try BatchCase(scans: 1)
        let other = c.dir + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: c.scanPaths[0], toPath: other + "/sub-01_T1w.nii.gz")
        let out = try c.out("batch")
        #expect(throws: BatchJob.BatchError.self) { try c.batch(out, inputs: c.scanPaths + [other + "/sub-01_T1w.nii.gz"]).run() }
        #expect(!FileManager.default.fileExists(atPath: out + "/stnreg-audit.jsonl"))
    }
}
