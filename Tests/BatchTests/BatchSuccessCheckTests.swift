import AuditLog
import Foundation
import Testing
import Workflows

/// "Did every item succeed?" from the command line (`audit review --fail-on`), and what an
/// empty shard says.
@Suite(.serialized)
struct BatchSuccessCheckTests {
    @Test func oneTruncatedScanMakesTheCheckExitOneAndNameIt() throws {
        let c = try BatchCase(scans: 2)
        let good = try #require(bytes(c.scanPaths[0]))
        let bad = c.inputDir + "/sub-07_T1w.nii.gz"
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: bad))
        let out = c.dir + "/out"
        let log = out + "/stnreg-audit.jsonl"
        let batch = ["batch", "--atlas", c.atlasPath, c.inputDir, "-o", out, "--protocol", c.protocolPath, "--no-network", "-q"]
        let run = try startStnreg(batch, logTo: c.dir, tag: "run")
        run.waitUntilExit()
        #expect(run.terminationStatus == 1)

        // The chain is intact, but the check fails and names the one bad item, one line each.
        #expect(try AuditVerifier.verify(path: log).isIntact)
        let check = try startStnreg(["audit", "review", log, "--fail-on", "failed"], logTo: c.dir, tag: "check")
        check.waitUntilExit()
        #expect(check.terminationStatus == 1)
        let err = String(decoding: bytes(c.dir + "/check.err") ?? Data(), as: UTF8.self)
        let lines = err.split(separator: "\n")
        #expect(lines.count == 1, "\(err)")
        #expect(lines.first?.hasPrefix("stnreg: FAILED sub-07_T1w.nii.gz (\(log):") == true, "\(err)")
        #expect(lines.first?.contains("sub-07_T1w.nii.gz") == true)
        let out1 = String(decoding: bytes(c.dir + "/check.out") ?? Data(), as: UTF8.self)
        #expect(out1.contains("--fail-on failed: 1 item(s) fail"), "\(out1)")

        // --items: an input the log has no record of fails too.
        let list = c.dir + "/list.txt"
        let extra = c.dir + "/sub-09_T1w.nii.gz"
        try good.write(to: URL(fileURLWithPath: extra))
        try (c.scanPaths + [bad, extra]).joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        let listed = try startStnreg(["audit", "review", log, "--fail-on", "failed", "--items", list], logTo: c.dir, tag: "listed")
        listed.waitUntilExit()
        #expect(listed.terminationStatus == 1)
        let listedErr = String(decoding: bytes(c.dir + "/listed.err") ?? Data(), as: UTF8.self).split(separator: "\n")
        #expect(listedErr.count == 2 && listedErr.last?.hasPrefix("stnreg: FAILED sub-09_T1w.nii.gz (\(log): no record): never run") == true,
                "\(listedErr)")

        // The scan repaired and the batch re-run: its latest record is ok, so the check passes.
        try good.write(to: URL(fileURLWithPath: bad))
        let again = try startStnreg(batch, logTo: c.dir, tag: "again")
        again.waitUntilExit()
        #expect(again.terminationStatus == 0)
        let pass = try startStnreg(["audit", "review", log, "--fail-on", "failed"], logTo: c.dir, tag: "pass")
        pass.waitUntilExit()
        #expect(pass.terminationStatus == 0, "\(String(decoding: bytes(c.dir + "/pass.err") ?? Data(), as: UTF8.self))")
        #expect(String(decoding: bytes(c.dir + "/pass.out") ?? Data(), as: UTF8.self).contains("--fail-on failed: every item passes"))
        // --fail-on flagged is at least as strict.
        let rows = AuditReview.rows(try records(log))
        #expect(AuditReview.failures(rows, failOn: .failed).isEmpty)
        #expect(AuditReview.failures(rows, failOn: .flagged).count == rows.filter(\.isFlagged).filter { r in
            !rows.contains { $0.subject == r.subject && $0.line > r.line } }.count)
    }

    @Test func anEmptyShardSaysSoAndNamesNoLog() throws {
        let c = try BatchCase(scans: 2)
        let out = c.dir + "/out"
        let p = try startStnreg(["batch", "--atlas", c.atlasPath, c.inputDir, "-o", out, "--protocol", c.protocolPath, "--no-network",
                                 "--shard", "3/3"], logTo: c.dir, tag: "empty")
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let text = String(decoding: bytes(c.dir + "/empty.out") ?? Data(), as: UTF8.self)
        #expect(text.contains("0 items: 0 done, 0 skipped, 0 failed  (shard 3/3; 2 items in other shards)"), "\(text)")
        #expect(text.contains("no items in this shard: nothing to do, no audit log written"), "\(text)")
        #expect(!text.contains("audit log:") && !text.contains("shard-3-of-3"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: out + "/stnreg-audit.shard-3-of-3.jsonl"))
    }
}
