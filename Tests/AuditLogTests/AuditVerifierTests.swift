import AuditLog
import Foundation
import Hashing
import Testing

/// One test per kind of tampering: each is found, with its line and kind, and nothing else is.
@Suite struct AuditVerifierTests {
    @Test func aCleanLogIsIntact() throws {
        let path = try makeLog(temporaryFolder(), count: 20)
        let v = try AuditVerifier.verify(path: path)
        #expect(v.isIntact)
        #expect(v.problems.isEmpty)
        #expect(v.lineCount == 20 && v.intactRecords == 20)
        #expect(try AuditLogFile(path: path).readRecords().map { $0.fields["n"] } == (0..<20).map { .int(Int64($0)) })
    }

    @Test func anEditedFieldIsFoundAtItsLine() throws {
        let path = try makeLog(temporaryFolder(), count: 10)
        var l = lines(path)
        l[4] = l[4].replacingOccurrences(of: #""value":0.45"#, with: #""value":0.46"#)
        writeLines(l, to: path)
        let v = try AuditVerifier.verify(path: path)
        #expect(kinds(v) == ["5:edited"])
        #expect(!v.isIntact)
    }

    @Test func anEditWithARecomputedHashBreaksTheNextLink() throws {
        let path = try makeLog(temporaryFolder(), count: 10)
        let records = try AuditLogFile(path: path).readRecords()
        var p = records[4].payload
        p["value"] = .double(99)
        var l = lines(path)
        l[4] = String(decoding: AuditChain.seal(p, prev: records[4].prev).line, as: UTF8.self)
        writeLines(l, to: path)
        #expect(kinds(try AuditVerifier.verify(path: path)) == ["6:deleted"])
    }

    @Test func aDeletedRecordIsFoundAtTheLineAfterIt() throws {
        let path = try makeLog(temporaryFolder(), count: 10)
        var l = lines(path)
        l.remove(at: 3)
        writeLines(l, to: path)
        #expect(kinds(try AuditVerifier.verify(path: path)) == ["4:deleted"])
    }

    @Test func deletingTheFirstRecordIsFound() throws {
        let path = try makeLog(temporaryFolder(), count: 5)
        writeLines(Array(lines(path).dropFirst()), to: path)
        #expect(kinds(try AuditVerifier.verify(path: path)) == ["1:deleted"])
    }

    @Test func reorderedRecordsAreFound() throws {
        let path = try makeLog(temporaryFolder(), count: 10)
        var l = lines(path)
        l.swapAt(5, 6)
        writeLines(l, to: path)
        let v = try AuditVerifier.verify(path: path)
        #expect(kinds(v) == ["6:reordered", "7:reordered", "8:reordered"])
        #expect(v.problems[0].detail == "follows the record at line 7 in the chain but comes after line 5")
    }

    @Test func anInsertedRecordIsFoundEvenWhenItChainsCorrectly() throws {
        let path = try makeLog(temporaryFolder(), count: 10)
        let records = try AuditLogFile(path: path).readRecords()
        // A forger who knows the format: prev = the record before, a valid own hash.
        let forged = AuditChain.seal(payload(999), prev: records[3].hash)
        var l = lines(path)
        l.insert(String(decoding: forged.line, as: UTF8.self), at: 4)
        writeLines(l, to: path)
        #expect(kinds(try AuditVerifier.verify(path: path)) == ["5:inserted"])
    }

    @Test func aDuplicatedRecordIsFound() throws {
        let path = try makeLog(temporaryFolder(), count: 6)
        var l = lines(path)
        l.insert(l[2], at: 5)
        writeLines(l, to: path)
        let v = try AuditVerifier.verify(path: path)
        #expect(kinds(v).contains("6:inserted"))
        #expect(v.problems.first { $0.line == 6 }?.detail == "a copy of the record at line 3")
    }

    @Test func aTornLastLineIsFound() throws {
        let path = try makeLog(temporaryFolder(), count: 10)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data.removeLast(40)   // a crash mid-write: part of line 10, no line end
        try data.write(to: URL(fileURLWithPath: path))
        let v = try AuditVerifier.verify(path: path)
        #expect(kinds(v) == ["10:tornLine"])
        #expect(throws: AuditLogError.self) { try AuditLogFile(path: path).readRecords() }
    }

    @Test func appendingRefusesToChainOntoATornLine() throws {
        let path = try makeLog(temporaryFolder(), count: 3)
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seekToEndOfFile()
        handle.write(Data(#"{"hash":"ab"#.utf8))
        try handle.close()
        #expect { try AuditLogFile(path: path).append(payload(9)) } throws: { e in
            String(describing: e).contains("the last line is torn")
        }
    }

    @Test func aMalformedLineInTheMiddleIsFound() throws {
        let path = try makeLog(temporaryFolder(), count: 5)
        var l = lines(path)
        l[2] = "not json"
        writeLines(l, to: path)
        let v = try AuditVerifier.verify(path: path)
        #expect(kinds(v).first == "3:malformed")
    }

    @Test func changedMissingAndSupersededOutputsAreFound() throws {
        let folder = temporaryFolder()
        let a = folder + "/a.bin", b = folder + "/b.bin", c = folder + "/c.bin"
        for (p, s) in [(a, "A"), (b, "B"), (c, "C1")] { try Data(s.utf8).write(to: URL(fileURLWithPath: p)) }
        let path = folder + "/audit.jsonl"
        let log = AuditLogFile(path: path)
        try log.append(payload(0, outputs: [(a, SHA256.hex("A")), ("b.bin", SHA256.hex("B"))]))   // b relative to the log's folder
        try log.append(payload(1, outputs: [(c, SHA256.hex("C1"))]))
        #expect(try AuditVerifier.verify(path: path).problems.isEmpty)

        try Data("A changed".utf8).write(to: URL(fileURLWithPath: a))
        try FileManager.default.removeItem(atPath: b)
        var v = try AuditVerifier.verify(path: path)
        #expect(kinds(v) == ["1:outputChanged", "1:outputMissing"])
        #expect(v.problems[1].detail == "b.bin: the output file is gone")

        // A later run that overwrote c.bin and recorded it: a note, not damage.
        try Data("C2".utf8).write(to: URL(fileURLWithPath: c))
        try log.append(payload(2, outputs: [(c, SHA256.hex("C2"))]))
        try Data("A".utf8).write(to: URL(fileURLWithPath: a))
        try Data("B".utf8).write(to: URL(fileURLWithPath: b))
        v = try AuditVerifier.verify(path: path)
        #expect(kinds(v) == ["2:outputSuperseded"])
        #expect(v.isIntact)
        #expect(try AuditVerifier.verify(path: path, checkOutputs: false).problems.isEmpty)
    }

    @Test func aPayloadMayNotSetPrevOrHash() throws {
        let log = AuditLogFile(path: temporaryFolder() + "/a.jsonl")
        #expect(throws: AuditLogError.self) { try log.append(["prev": "x"]) }
    }

    @Test func tenThousandRecordsVerify() throws {
        // The < 2 s bar is measured on a release build (see the report); here only correctness and a loose bound.
        let folder = temporaryFolder()
        let path = folder + "/big.jsonl"
        var out: [UInt8] = []
        var prev = AuditChain.genesis
        for n in 0..<10_000 {
            let s = AuditChain.seal(payload(n), prev: prev)
            out += s.line; out.append(10); prev = s.hash
        }
        try Data(out).write(to: URL(fileURLWithPath: path))
        let start = Date()
        let v = try AuditVerifier.verify(path: path)
        #expect(v.isIntact && v.lineCount == 10_000)
        #expect(Date().timeIntervalSince(start) < 30)
    }
}
