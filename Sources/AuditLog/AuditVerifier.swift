import Foundation
import Hashing
import Parallelism

/// Walks an audit log's chain and re-hashes the outputs its records name.
///
/// Outputs: a record may hold `"outputs": [{"path": …, "sha256": …}, …]`; each file still on
/// disk is re-hashed (relative paths are taken from the log's folder). A file that a later
/// record lists with its current hash is reported as ``AuditProblem/Kind/outputSuperseded``
/// (not damage); each distinct file is hashed once.
public enum AuditVerifier {
    /// Verifies the log at `path`. Throws only when the file cannot be read at all.
    ///
    /// - `trustedKeys`: when given, every record must carry a valid signature by one of them
    ///   (a merged record: its shard's signature over its `sourceHash`); unsigned, wrongly
    ///   signed and unknown-key records are problems. Without keys, signatures are not checked,
    ///   but a record that names a signer and carries no signature is still reported.
    /// - `expectedHeads`: each must be found (``AuditHeadMatch``): as a prefix of the log
    ///   (cut-off tails and rewrites are problems) or, in a merged log, as a shard whose records
    ///   are all present; a merged head's shards must all be present too. With trusted keys,
    ///   each head's own signature is checked.
    public static func verify(path: String, checkOutputs: Bool = true, trustedKeys: AuditTrustedKeys? = nil,
                              expectedHeads: [AuditExpectedHead] = []) throws -> AuditVerification {
        let lines = try AuditLogFile(path: path).readLines()
        var problems: [AuditProblem] = []
        var records: [AuditRecord] = []
        var intact = 0
        // The expensive part (re-encoding and hashing each record, checking its signature) on all cores.
        let rehashed: [(own: String, source: String?, signature: SignatureCheck)?] = parallelMap(lines.count, threads: ThreadPolicy.defaultThreadCount) { n in
            let line = lines[n]
            guard line.complete, case .success(let r) = line.record else { return nil }
            let own = r.recomputedHash
            return (own, r.recomputedSourceHash, own == r.hash ? checkSignature(r, trustedKeys) : .notChecked)
        }
        var signaturesChecked = 0, signed = 0
        for (line, check) in zip(lines, rehashed) {
            if !line.complete {
                problems.append(.init(line: line.number, kind: .tornLine,
                                      detail: "the last line has no line end (\(line.bytes.count) bytes): a write was cut short"))
                continue
            }
            switch line.record {
            case .failure(let e):
                problems.append(.init(line: line.number, kind: .malformed, detail: e.problem))
            case .success(let r):
                records.append(r)
                if r.signature != nil || r.fields["sourceSignature"] != nil { signed += 1 }
                if check?.own != r.hash {
                    problems.append(.init(line: r.line, kind: .edited,
                                          detail: "the content does not match the record's hash \(short(r.hash)): a member was changed"))
                } else {
                    intact += 1
                    if let source = check?.source, source != r.fields["sourceHash"]?.string {
                        problems.append(.init(line: r.line, kind: .sourceMismatch,
                                              detail: "the content does not match its sourceHash from the shard it was merged from"))
                    }
                    switch check?.signature ?? .notChecked {
                    case .notChecked: break
                    case .valid: signaturesChecked += 1
                    case .problem(let kind, let detail, let verified):
                        if verified { signaturesChecked += 1 }
                        problems.append(.init(line: r.line, kind: kind, detail: detail))
                    }
                }
            }
        }
        problems += chainProblems(records)
        problems += sourceChainProblems(records)
        var heads: [AuditHeadMatch] = []
        for expected in expectedHeads {
            let (match, headProblems) = checkHead(expected, records: records, lineCount: lines.count, trustedKeys: trustedKeys)
            heads.append(match)
            problems += headProblems
        }
        var checked = 0
        if checkOutputs {
            let result = outputProblems(records, logPath: path)
            problems += result.problems
            checked = result.checked
        }
        problems.sort { ($0.line, $0.kind.rawValue, $0.head ?? "") < ($1.line, $1.kind.rawValue, $1.head ?? "") }
        var v = AuditVerification(path: path, lineCount: lines.count, intactRecords: intact,
                                  outputsChecked: checked, problems: problems)
        v.signaturesChecked = signaturesChecked
        v.signedRecords = signed
        v.heads = heads
        return v
    }

    /// A record's signature against the trusted keys.
    enum SignatureCheck: Sendable {
        case notChecked
        case valid
        /// `verified`: a signature was actually checked (and failed).
        case problem(AuditProblem.Kind, String, verified: Bool)
    }

    static func checkSignature(_ r: AuditRecord, _ trusted: AuditTrustedKeys?) -> SignatureCheck {
        let merged = r.fields["sourceHash"] != nil
        let sigMember = merged ? "sourceSignature" : "signature"
        let stored = r.fields[sigMember]
        guard let signer = r.fields["signedBy"] else {
            if r.fields["signature"] != nil || r.fields["sourceSignature"] != nil {
                return .problem(.badSignature, "carries a signature but no 'signedBy': the signer's key id was removed", verified: false)
            }
            return trusted == nil ? .notChecked : .problem(.unsigned, "the record is not signed", verified: false)
        }
        guard let keyID = signer.string, keyID.utf8.count == 16, Hex.decode(keyID) != nil else {
            return .problem(.badSignature, "'signedBy' is not a key id (16 hex digits)", verified: false)
        }
        guard let stored else {
            return .problem(.badSignature, "names signer \(keyID) but carries no \(sigMember): the signature was removed", verified: false)
        }
        guard let text = stored.string, text.utf8.count == 2 * Ed25519.signatureByteCount, let sig = Hex.decode(text) else {
            return .problem(.badSignature, "'\(sigMember)' is not 128 hex digits", verified: false)
        }
        guard let trusted else { return .notChecked }
        guard let key = trusted.byID[keyID] else {
            return .problem(.unknownKey, "signed by key \(keyID), which is not among the trusted keys", verified: false)
        }
        let hash = merged ? (r.fields["sourceHash"]?.string ?? "") : r.hash
        guard key.isValidSignature(sig, for: AuditChain.signedMessage(recordHash: hash)) else {
            let what = merged ? "its shard hash (sourceHash)" : "the record's hash"
            return .problem(.badSignature, "the \(sigMember) by key \(keyID) does not match \(what): the record was rewritten after it was signed, or the signature was replaced", verified: true)
        }
        return .valid
    }

    /// In a merged log: a record whose predecessor in its shard (`sourcePrev`) is missing.
    static func sourceChainProblems(_ records: [AuditRecord]) -> [AuditProblem] {
        let sources = Set(records.compactMap { $0.fields["sourceHash"]?.string })
        guard !sources.isEmpty else { return [] }
        var problems: [AuditProblem] = []
        for r in records {
            guard r.fields["sourceHash"] != nil, let p = r.fields["sourcePrev"]?.string, p != AuditChain.genesis, !sources.contains(p) else { continue }
            let shard = r.fields["sourceShard"]?["path"]?.string.map { " of \($0)" } ?? ""
            problems.append(.init(line: r.line, kind: .deleted,
                                  detail: "the record before it in its shard\(shard) (sourcePrev \(short(p))) is not in the merged log: deleted from the merge"))
        }
        return problems
    }

    /// Where `expected` stands in the log, and its problems.
    static func checkHead(_ expected: AuditExpectedHead, records: [AuditRecord], lineCount: Int,
                          trustedKeys: AuditTrustedKeys?) -> (AuditHeadMatch, [AuditProblem]) {
        let h = expected.head, name = expected.name
        var problems: [AuditProblem] = []
        var status: AuditHead.SignatureStatus? = nil
        if let trustedKeys {
            status = h.signatureStatus(trustedKeys)
            switch status! {
            case .valid: break
            case .unsigned: problems.append(.init(line: 0, kind: .unsigned, detail: "the head is not signed", head: name))
            case .unknownKey: problems.append(.init(line: 0, kind: .unknownKey, detail: "the head is signed by key \(h.keyID ?? "?"), which is not among the trusted keys", head: name))
            case .wrong: problems.append(.init(line: 0, kind: .badSignature, detail: "the head's signature by key \(h.keyID ?? "?") does not match its content: the head was changed", head: name))
            }
        }
        var byHash: [String: AuditRecord] = [:], bySource: [String: AuditRecord] = [:]
        for r in records {
            byHash[r.hash] = r
            if let s = r.fields["sourceHash"]?.string { bySource[s] = r }
        }
        let merged = !bySource.isEmpty
        var found: AuditHeadMatch.Found = .notFound

        /// Whether the shard chain ending at `last` with `count` records is all in the log.
        func shardProblem(_ last: String, _ count: Int, _ what: String) -> AuditProblem? {
            guard var cur = bySource[last] else {
                return .init(line: 0, kind: .shardMissing,
                             detail: "\(what) (\(count) records, last \(short(last))) is not in the merged log: the shard was left out of the merge or removed from it", head: name)
            }
            var n = 1
            while let p = cur.fields["sourcePrev"]?.string, p != AuditChain.genesis, n <= records.count {
                guard let before = bySource[p] else {
                    return .init(line: cur.line, kind: .shardMissing,
                                 detail: "\(what) has \(count) records, but the one before this line in the shard (sourcePrev \(short(p))) is not in the merged log", head: name)
                }
                cur = before
                n += 1
            }
            guard n == count else {
                return .init(line: 0, kind: .shardMissing,
                             detail: "\(what) counts \(count) records, but its chain in the merged log has \(n)", head: name)
            }
            return nil
        }

        if h.records == 0 && h.lastHash == AuditChain.genesis {
            found = .prefix(appendedSince: lineCount)
        } else if let r = byHash[h.lastHash] {
            if r.line == h.records {
                found = .prefix(appendedSince: lineCount - h.records)
            } else {
                problems.append(.init(line: r.line, kind: .rewritten,
                                      detail: "the head's last record (\(short(h.lastHash))) is at line \(r.line), but the head counts \(h.records) records: records before it were removed or added since the head was taken", head: name))
            }
        } else if merged && h.shards.isEmpty && bySource[h.lastHash] != nil {
            if let p = shardProblem(h.lastHash, h.records, "the shard of this head") { problems.append(p) } else { found = .shard }
        } else if lineCount < h.records {
            problems.append(.init(line: lineCount + 1, kind: .truncated,
                                  detail: "the head counts \(h.records) records but the log has \(lineCount): lines \(lineCount + 1)…\(h.records) were cut off (or the log was rewritten)", head: name))
        } else if merged && h.shards.isEmpty {
            problems.append(.init(line: 0, kind: .shardMissing,
                                  detail: "the head's last record (\(short(h.lastHash)), record \(h.records)) is neither in this log's chain nor among the shard records merged into it: its shard was left out of the merge, or the log was rewritten", head: name))
        } else {
            let holds = h.records <= records.count ? " holds \(short(records[h.records - 1].hash)) instead" : ""
            problems.append(.init(line: h.records, kind: .rewritten,
                                  detail: "line \(h.records) should be the head's last record (\(short(h.lastHash))) but\(holds.isEmpty ? " is not" : holds): the log was rewritten up to there", head: name))
        }
        for (n, s) in h.shards.enumerated() {
            if let p = shardProblem(s.lastHash, s.records, "shard \(n + 1) of the merged head\(s.keyID.map { " (key \($0))" } ?? "")") { problems.append(p) }
        }
        return (AuditHeadMatch(name: name, head: h, found: found, signature: status), problems)
    }

    /// Deleted, reordered and inserted records, from the `prev` links (stored hashes).
    static func chainProblems(_ records: [AuditRecord]) -> [AuditProblem] {
        var problems: [AuditProblem] = []
        var lineOfHash: [String: Int] = [:]
        var followers: [String: Int] = [:]
        var duplicates = Set<Int>()
        for (i, r) in records.enumerated() {
            if let first = lineOfHash[r.hash] {
                duplicates.insert(i)
                problems.append(.init(line: r.line, kind: .inserted, detail: "a copy of the record at line \(first)"))
            } else {
                lineOfHash[r.hash] = r.line
            }
            followers[r.prev, default: 0] += 1
        }
        // Inserted: no record follows it, it is not last, and the chain steps over it.
        var skipped = duplicates
        for i in records.indices where i < records.count - 1 && !duplicates.contains(i) {
            let r = records[i]
            let before = i == 0 ? AuditChain.genesis : records[i - 1].hash
            if followers[r.hash, default: 0] == 0 && records[i + 1].prev == before {
                skipped.insert(i)
                problems.append(.init(line: r.line, kind: .inserted,
                                      detail: "no record follows this one and the next record follows the one before it: it was added afterwards"))
            }
        }
        var expected = AuditChain.genesis
        var expectedLine: Int? = nil
        for (i, r) in records.enumerated() where !skipped.contains(i) {
            defer { expected = r.hash; expectedLine = r.line }
            if r.prev == expected { continue }
            let after = expectedLine.map { "line \($0)" } ?? "the start of the log"
            if r.prev == AuditChain.genesis {
                let kind: AuditProblem.Kind = followers[r.hash, default: 0] > 0 ? .reordered : .inserted
                problems.append(.init(line: r.line, kind: kind, detail: "claims to start the chain but comes after \(after)"))
            } else if let m = lineOfHash[r.prev] {
                problems.append(.init(line: r.line, kind: .reordered,
                                      detail: "follows the record at line \(m) in the chain but comes after \(after)"))
            } else {
                problems.append(.init(line: r.line, kind: .deleted,
                                      detail: "the record it follows (prev \(short(r.prev))) is not in the log: deleted or replaced between \(after) and this line"))
            }
        }
        return problems
    }

    /// Changed and missing output files.
    static func outputProblems(_ records: [AuditRecord], logPath: String) -> (problems: [AuditProblem], checked: Int) {
        let folder = URL(fileURLWithPath: logPath).deletingLastPathComponent().path
        var current: [String: String?] = [:]   // resolved path → hash now (nil = missing)
        var problems: [AuditProblem] = []
        // Latest record (line) listing each path with each hash, to recognise later overwrites.
        var listed: [String: [(line: Int, sha: String)]] = [:]
        var outputs: [(record: AuditRecord, path: String, resolved: String, sha: String)] = []
        for r in records {
            for o in r.fields["outputs"]?.array ?? [] {
                guard let p = o["path"]?.string, let sha = o["sha256"]?.string else { continue }
                let resolved = p.hasPrefix("/") ? p : folder + "/" + p
                outputs.append((r, p, resolved, sha))
                listed[resolved, default: []].append((r.line, sha))
            }
        }
        for o in outputs {
            if current[o.resolved] == nil {
                current[o.resolved] = .some(try? SHA256.hex(ofFile: o.resolved))
            }
            let now = current[o.resolved]!
            guard let now else {
                problems.append(.init(line: o.record.line, kind: .outputMissing, detail: "\(o.path): the output file is gone"))
                continue
            }
            if now == o.sha { continue }
            if let later = listed[o.resolved]?.last(where: { $0.line > o.record.line && $0.sha == now }) {
                problems.append(.init(line: o.record.line, kind: .outputSuperseded,
                                      detail: "\(o.path): overwritten by the run recorded at line \(later.line)"))
            } else {
                problems.append(.init(line: o.record.line, kind: .outputChanged,
                                      detail: "\(o.path): SHA-256 is \(short(now)), recorded \(short(o.sha))"))
            }
        }
        return (problems, current.count)
    }

    static func short(_ h: String) -> String { String(h.prefix(12)) + "…" }
}
