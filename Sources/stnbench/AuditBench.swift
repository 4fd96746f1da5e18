import AuditLog
import Hashing
import Foundation
import VolumeCore
import Workflows

/// Issue 5's bar: a clean log of 10,000 records verifies in under 2 s; issue 17's: the same log
/// signed (Ed25519, one key) verifies with its trusted key and an expected head in under 2 s
/// on 2 cores. The records are copies of a real `align` record (outputs on disk, re-hashed by
/// verify), each with its own id, chained afresh; median of `runs` verifications.
func runAuditBenchmark(runs: Int) throws {
    let tv = repoFolder() + "/TestVolumes"
    let work = NSTemporaryDirectory() + "/stnbench-audit-\(getpid())"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    let seedLog = work + "/one.jsonl"
    _ = try AlignJob(scanPath: tv + "/colin27_brain_2mm.nii.gz", atlasPath: tv + "/mni152_t1_2mm.nii.gz", prefix: work + "/a",
                     commandLine: ["stnbench"]).runAndAudit(log: seedLog)
    let template = try AuditLogFile(path: seedLog).readRecords()[0].payload
    let keyPath = work + "/bench.key"   // generated here, removed with the folder
    try AuditKeyFiles.generate(privateKeyPath: keyPath, publicKeyPath: keyPath + ".pub")
    let signer = try AuditSigner.load(path: keyPath)
    let keys = try AuditTrustedKeys.load(path: keyPath + ".pub")

    // Ed25519 alone, one thread: what 10,000 signature checks cost before any parallelism.
    let message = AuditChain.signedMessage(recordHash: AuditChain.genesis)
    let signature = try signer.signature(recordHash: AuditChain.genesis)
    var valid = 0
    let one = try medianSeconds(runs: runs) {
        valid = 0
        for _ in 0..<1_000 where keys.byID[signer.keyID]!.isValidSignature(Hex.decode(signature)!, for: message) { valid += 1 }
    }
    print(String(format: "Ed25519 verify through libcrypto: %.1f µs per signature on one thread (median of %d × 1,000; valid: %d)", one * 1000, runs, valid))

    func cpuSeconds() -> Double {
        var u = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &u)
        #else
        getrusage(RUSAGE_SELF, &u)
        #endif
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    for signed in [false, true] {
        var out: [UInt8] = []
        var prev = AuditChain.genesis
        let sealClock = Stopwatch()
        for n in 0..<10_000 {
            var p = template
            p["id"] = .string(String(format: "%08d-0000-4000-8000-000000000000", n))
            let s = try AuditChain.seal(p, prev: prev, signer: signed ? signer : nil)
            out += s.line
            out.append(10)
            prev = s.hash
        }
        let sealSeconds = sealClock.total
        let path = work + (signed ? "/signed.jsonl" : "/big.jsonl")
        try Data(out).write(to: URL(fileURLWithPath: path))
        var intact = false
        let head = AuditExpectedHead(name: "head", head: try AuditHead.of(log: path, signer: signer))
        let cpuStart = cpuSeconds()
        let t = try medianSeconds(runs: runs) {
            if signed {
                let v = try AuditVerifier.verify(path: path, trustedKeys: keys, expectedHeads: [head])
                intact = v.isIntact && v.signaturesChecked == 10_000
            } else {
                intact = try AuditVerifier.verify(path: path).isIntact
            }
        }
        let cpu = (cpuSeconds() - cpuStart) / Double(runs + 1)
        // CPU time is what other processes on the machine cannot inflate: wall time on 2 idle cores is at least cpu / 2.
        print(String(format: "audit verify: 10,000 align records%@ (%.1f MB, each re-hashing its outputs on disk): %.2f s median of %d, %.2f s CPU each; intact: %@ (sealing%@ took %.2f s)",
                     signed ? ", signed, with --trusted-keys and --expect-head" : "", Double(out.count) / 1e6, t, runs, cpu, intact ? "yes" : "NO",
                     signed ? " and signing" : "", sealSeconds))
    }
}
