import AuditLog
import Foundation
import Workflows

/// Issue 5's bar: a clean log of 10,000 records verifies in under 2 s. The records are copies
/// of a real `align` record (outputs on disk, re-hashed by verify), each with its own id,
/// chained afresh; median of `runs` verifications.
func runAuditBenchmark(runs: Int) throws {
    let tv = repoFolder() + "/TestVolumes"
    let work = NSTemporaryDirectory() + "/stnbench-audit-\(getpid())"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    let seedLog = work + "/one.jsonl"
    _ = try AlignJob(scanPath: tv + "/colin27_brain_2mm.nii.gz", atlasPath: tv + "/mni152_t1_2mm.nii.gz", prefix: work + "/a",
                     commandLine: ["stnbench"]).runAndAudit(log: seedLog)
    var template = try AuditLogFile(path: seedLog).readRecords()[0].fields
    template["prev"] = nil
    template["hash"] = nil
    var out: [UInt8] = []
    var prev = AuditChain.genesis
    for n in 0..<10_000 {
        var p = template
        p["id"] = .string(String(format: "%08d-0000-4000-8000-000000000000", n))
        let s = AuditChain.seal(p, prev: prev)
        out += s.line
        out.append(10)
        prev = s.hash
    }
    let path = work + "/big.jsonl"
    try Data(out).write(to: URL(fileURLWithPath: path))
    var intact = false
    let t = try medianSeconds(runs: runs) { intact = try AuditVerifier.verify(path: path).isIntact }
    print(String(format: "audit verify: 10,000 align records (%.1f MB, each re-hashing its outputs on disk): %.2f s median of %d; intact: %@",
                 Double(out.count) / 1e6, t, runs, intact ? "yes" : "NO"))
}
