import AuditLog
import Foundation
import NIfTIIO
import Registration
import Testing
import TestSupport
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
            let t = try TransformRecord.readAtlasToScan(path: item.item.prefix + "_transform.json")
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

    @Test func shardAssignmentIsStable() throws {
        let names = (1...300).map { String(format: "/data/sub-%03d/anat/sub-%03d_T1w.nii.gz", $0, $0) }
        let counts = (1...4).map { k in names.filter { Shard(index: k, count: 4).contains(input: $0) }.count }
        #expect(counts.reduce(0, +) == 300 && counts.allSatisfy { $0 > 50 })
        // Only the file name counts: another mount point gives the same shard.
        for n in names {
            #expect(Shard.number(forInput: n, count: 7) == Shard.number(forInput: "/scratch/x/" + URL(fileURLWithPath: n).lastPathComponent, count: 7))
        }
        #expect(try Shard.parse("2/8") == Shard(index: 2, count: 8))
        for bad in ["0/8", "9/8", "2", "a/b", "2/0", ""] {
            #expect(throws: Shard.ParseError.self) { try Shard.parse(bad) }
        }
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
