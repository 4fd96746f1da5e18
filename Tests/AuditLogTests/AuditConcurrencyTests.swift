import AuditLog
import Foundation
import Testing

@Suite struct AuditConcurrencyTests {
    /// Two writer processes (`stnreg audit append-test`) append 1,000 signed records each to one
    /// log at the same time (each with its own key); the chain and every signature verify with
    /// all 2,000 present and each writer's records in order.
    @Test func twoProcessesAppendingConcurrentlyLeaveAValidChain() throws {
        let folder = temporaryFolder()
        let path = folder + "/shared.jsonl"
        for tag in ["A", "B"] { try AuditKeyFiles.generate(privateKeyPath: folder + "/\(tag).key", publicKeyPath: folder + "/\(tag).key.pub") }
        let writers = try ["A", "B"].map { try startStnreg(["audit", "append-test", path, "--count", "1000", "--tag", $0, "--signing-key", folder + "/\($0).key"]) }
        for w in writers {
            let err = w.err.fileHandleForReading.readDataToEndOfFile()
            w.process.waitUntilExit()
            #expect(w.process.terminationStatus == 0, "\(String(decoding: err, as: UTF8.self))")
        }
        let keys = AuditTrustedKeys([try AuditSigner.load(path: folder + "/A.key").publicKey, try AuditSigner.load(path: folder + "/B.key").publicKey])
        let v = try AuditVerifier.verify(path: path, trustedKeys: keys)
        #expect(v.isIntact && v.problems.isEmpty)
        #expect(v.signaturesChecked == 2000)
        let records = try AuditLogFile(path: path).readRecords()
        #expect(records.count == 2000)
        #expect(Set(records.compactMap(\.signedBy)).count == 2)
        for tag in ["A", "B"] {
            let ns = records.filter { $0.fields["tag"]?.string == tag }.compactMap { $0.fields["n"]?.number }
            #expect(ns == (0..<1000).map(Double.init))
        }
        // Interleaved, so the lock was actually contended.
        let tags = records.map { $0.fields["tag"]?.string ?? "" }
        #expect(zip(tags, tags.dropFirst()).filter { $0 != $1 }.count > 1)
    }

    /// Threads of one process appending at once are serialised by the same lock; one signer
    /// shared by all of them signs every record.
    @Test func threadsAppendingConcurrentlyLeaveAValidChain() throws {
        let path = temporaryFolder() + "/threads.jsonl"
        let signer = try testSigner()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            let log = AuditLogFile(path: path)
            for n in 0..<50 { try! log.append(["t": .int(Int64(t)), "n": .int(Int64(n))], signer: t % 2 == 0 ? signer : nil) }
        }
        let v = try AuditVerifier.verify(path: path)
        #expect(v.isIntact && v.lineCount == 200 && v.signedRecords == 100)
        let withKeys = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer))
        #expect(withKeys.signaturesChecked == 100 && withKeys.problems.filter { $0.kind == .unsigned }.count == 100)
        #expect(withKeys.problems.allSatisfy { $0.kind == .unsigned })
    }
}
