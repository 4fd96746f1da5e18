import AuditLog
import Foundation
import Testing
import Workflows

/// `stnreg batch` as a process: killed with SIGKILL part-way, then re-run.
@Suite(.serialized)
struct BatchKillTests {
    @Test func killedBatchRerunDoesEveryItemExactlyOnce() throws {
        let c = try BatchCase(scans: 8)
        let out = c.dir + "/out"
        let log = out + "/stnreg-audit.jsonl"
        let args = ["batch", "--atlas", c.atlasPath, c.inputDir, "-o", out, "--protocol", c.protocolPath, "--no-network", "--jobs", "2"]

        // First run: kill it as soon as the first record is in the log.
        let first = try startStnreg(args, logTo: c.dir, tag: "first")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && first.isRunning {
            if let d = bytes(log), d.contains(0x0A) { break }
            usleep(5_000)
        }
        #expect(first.isRunning, "the batch finished before it could be killed: \(String(decoding: bytes(c.dir + "/first.err") ?? Data(), as: UTF8.self))")
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        let before = try records(log)
        #expect(before.count >= 1 && before.count < 8, "records at kill: \(before.count)")

        // Re-run: finishes the rest.
        let second = try startStnreg(args, logTo: c.dir, tag: "second")
        second.waitUntilExit()
        let err = String(decoding: bytes(c.dir + "/second.err") ?? Data(), as: UTF8.self)
        let outText = String(decoding: bytes(c.dir + "/second.out") ?? Data(), as: UTF8.self)
        #expect(second.terminationStatus == 0, "\(err)")
        // Not a terminal: plain progress lines, then the summary table.
        #expect(err.contains("[8/8]"), "\(err)")
        #expect(outText.contains("8 items: \(8 - before.count) done, \(before.count) skipped, 0 failed"), "\(outText)")

        let after = try records(log)
        #expect(after.count == 8, "records: \(after.map(itemName))")
        #expect(Set(after.map(itemName)) == Set(c.scanPaths.map { URL(fileURLWithPath: $0).lastPathComponent }))
        #expect(after.allSatisfy { $0.fields["status"]?.string == "ok" })
        #expect(Array(after.prefix(before.count)) == before)
        let v = try AuditVerifier.verify(path: log)
        #expect(v.isIntact && v.problems.isEmpty, "\(v.problems)")
        #expect(v.outputsChecked == 8 * 7)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        // A third run does nothing; --json reports it.
        let third = try startStnreg(args + ["--json"], logTo: c.dir, tag: "third")
        third.waitUntilExit()
        #expect(third.terminationStatus == 0)
        let json = try JSONSerialization.jsonObject(with: bytes(c.dir + "/third.out") ?? Data()) as? [String: Any]
        #expect(json?["skipped"] as? Int == 8 && json?["done"] as? Int == 0)
        #expect(try records(log).count == 8)
    }

    @Test func failedItemsMakeTheExitStatusNonZero() throws {
        let c = try BatchCase(scans: 1)
        try Data("not a nifti".utf8).write(to: URL(fileURLWithPath: c.inputDir + "/broken.nii"))
        let out = c.dir + "/out"
        let p = try startStnreg(["batch", "--atlas", c.atlasPath, c.inputDir, "-o", out, "--protocol", c.protocolPath, "--no-network"],
                                logTo: c.dir, tag: "run")
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        let text = String(decoding: bytes(c.dir + "/run.out") ?? Data(), as: UTF8.self)
        #expect(text.contains("2 items: 1 done, 0 skipped, 1 failed"), "\(text)")
        #expect(text.contains("failed  broken.nii"), "\(text)")
    }
}
