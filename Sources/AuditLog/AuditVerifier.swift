import Foundation
import Hashing

/// One thing wrong with an audit log, at a line.
public struct AuditProblem: Sendable, Equatable, CustomStringConvertible {
    /// What kind of damage.
    public enum Kind: String, Sendable, CaseIterable {
        /// The record's content does not match its own hash: a member was changed.
        case edited
        /// The record's `prev` names a record that is not in the log: one or more were deleted before it.
        case deleted
        /// The record's `prev` names a record elsewhere in the log: records are out of order.
        case reordered
        /// A record that no other record follows and that the chain skips: added afterwards.
        case inserted
        /// The last line has no line end: a write was cut short (crash, full disk).
        case tornLine
        /// A line that is not a JSON object with `prev` and `hash`.
        case malformed
        /// An output file's SHA-256 differs from the one recorded.
        case outputChanged
        /// An output file named in the record is gone.
        case outputMissing
        /// A merged record's content does not match the `sourceHash` it carries from its shard.
        case sourceMismatch
        /// Not damage: the output was later overwritten by a run that recorded it (at `detail`'s line).
        case outputSuperseded

        /// False only for informational kinds that leave the log intact.
        public var isDamage: Bool { self != .outputSuperseded }
    }

    /// 1-based line number of the record.
    public var line: Int
    public var kind: Kind
    public var detail: String

    public init(line: Int, kind: Kind, detail: String) {
        self.line = line
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "line \(line): \(kind.rawValue): \(detail)" }
}

/// The result of ``AuditVerifier/verify(path:checkOutputs:)``.
public struct AuditVerification: Sendable {
    public var path: String
    /// Lines read (records and damaged lines).
    public var lineCount: Int
    /// Records whose own hash checks out.
    public var intactRecords: Int
    /// Output files re-hashed.
    public var outputsChecked: Int
    /// Problems in line order.
    public var problems: [AuditProblem]

    /// True when nothing is damaged (informational notes allowed).
    public var isIntact: Bool { !problems.contains { $0.kind.isDamage } }
}

/// Walks an audit log's chain and re-hashes the outputs its records name.
///
/// Outputs: a record may hold `"outputs": [{"path": …, "sha256": …}, …]`; each file still on
/// disk is re-hashed (relative paths are taken from the log's folder). A file that a later
/// record lists with its current hash is reported as ``AuditProblem/Kind/outputSuperseded``
/// (not damage); each distinct file is hashed once.
public enum AuditVerifier {
    /// Verifies the log at `path`. Throws only when the file cannot be read at all.
    public static func verify(path: String, checkOutputs: Bool = true) throws -> AuditVerification {
        let lines = try AuditLogFile(path: path).readLines()
        var problems: [AuditProblem] = []
        var records: [AuditRecord] = []
        var intact = 0
        // The expensive part (re-encoding and hashing each record) on all cores.
        let rehashed: [(own: String, source: String?)?] = lines.parallelMap { line in
            guard line.complete, case .success(let r) = line.record else { return nil }
            return (r.recomputedHash, r.recomputedSourceHash)
        }
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
                if check?.own != r.hash {
                    problems.append(.init(line: r.line, kind: .edited,
                                          detail: "the content does not match the record's hash \(short(r.hash)): a member was changed"))
                } else {
                    intact += 1
                    if let source = check?.source, source != r.fields["sourceHash"]?.string {
                        problems.append(.init(line: r.line, kind: .sourceMismatch,
                                              detail: "the content does not match its sourceHash from the shard it was merged from"))
                    }
                }
            }
        }
        problems += chainProblems(records)
        var checked = 0
        if checkOutputs {
            let result = outputProblems(records, logPath: path)
            problems += result.problems
            checked = result.checked
        }
        problems.sort { ($0.line, $0.kind.rawValue) < ($1.line, $1.kind.rawValue) }
        return AuditVerification(path: path, lineCount: lines.count, intactRecords: intact,
                                 outputsChecked: checked, problems: problems)
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
