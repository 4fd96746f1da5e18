import AuditLog
import Foundation
import Testing

@Suite struct AuditMergeTests {
    /// Two shards with interleaved times merge into one chain in time order that verifies,
    /// and each record's shard hash can be recomputed from it.
    @Test func shardsMergeIntoOneVerifiedChainWithProvenance() throws {
        let folder = temporaryFolder()
        let a = AuditLogFile(path: folder + "/a.jsonl"), b = AuditLogFile(path: folder + "/b.jsonl")
        for n in stride(from: 0, to: 20, by: 2) { try a.append(payload(n)) }
        for n in stride(from: 1, to: 20, by: 2) { try b.append(payload(n)) }
        let out = folder + "/merged.jsonl"
        #expect(try AuditMerge.merge(shards: [a.path, b.path], into: out) == 20)
        let v = try AuditVerifier.verify(path: out)
        #expect(v.isIntact && v.problems.isEmpty)
        let merged = try AuditLogFile(path: out).readRecords()
        #expect(merged.map { $0.fields["n"] } == (0..<20).map { .int(Int64($0)) })
        let shardA = try a.readRecords()
        #expect(merged[2].fields["sourceHash"]?.string == shardA[1].hash)
        #expect(merged[2].fields["sourceShard"] == ["path": .string(a.path), "line": 2])
        #expect(merged[2].recomputedSourceHash == shardA[1].hash)

        // Merging merged logs keeps the first provenance.
        let c = AuditLogFile(path: folder + "/c.jsonl")
        try c.append(payload(50))
        let again = folder + "/again.jsonl"
        try AuditMerge.merge(shards: [out, c.path], into: again)
        let twice = try AuditLogFile(path: again).readRecords()
        #expect(twice[2].fields["sourceShard"] == ["path": .string(a.path), "line": 2])
        #expect(try AuditVerifier.verify(path: again).problems.isEmpty)
    }

    @Test func aChangedMergedRecordNoLongerMatchesItsSourceHash() throws {
        let folder = temporaryFolder()
        let a = try makeLog(folder, count: 3, name: "a.jsonl")
        let out = folder + "/m.jsonl"
        try AuditMerge.merge(shards: [a], into: out)
        // Re-chain a doctored copy correctly: only sourceHash can tell.
        let records = try AuditLogFile(path: out).readRecords()
        var lines: [String] = []
        var prev = AuditChain.genesis
        for r in records {
            var p = r.payload
            if r.line == 2 { p["value"] = .double(7) }
            let s = AuditChain.seal(p, prev: prev)
            lines.append(String(decoding: s.line, as: UTF8.self)); prev = s.hash
        }
        writeLines(lines, to: out)
        #expect(kinds(try AuditVerifier.verify(path: out)) == ["2:sourceMismatch"])
    }

    @Test func aShardThatDoesNotVerifyIsRefused() throws {
        let folder = temporaryFolder()
        let a = try makeLog(folder, count: 5, name: "a.jsonl")
        var l = lines(a)
        l.remove(at: 2)
        writeLines(l, to: a)
        let out = folder + "/m.jsonl"
        #expect { try AuditMerge.merge(shards: [a], into: out) } throws: { e in
            String(describing: e).hasPrefix("\(a):3: deleted:")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func theSameShardTwiceAndAnExistingOutputAreRefused() throws {
        let folder = temporaryFolder()
        let a = try makeLog(folder, count: 2, name: "a.jsonl")
        #expect { try AuditMerge.merge(shards: [a, a], into: folder + "/m.jsonl") } throws: { e in
            String(describing: e).contains("a shard was given twice")
        }
        #expect(throws: AuditLogError.self) { try AuditMerge.merge(shards: [a], into: a) }
    }
}
