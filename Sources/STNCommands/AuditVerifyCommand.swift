import ArgumentParser
import AuditLog

/// `stnreg audit verify LOG`: walk the chain, check signatures and heads, re-hash the outputs.
struct AuditVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an audit log's hash chain, signatures and expected heads, and re-hash the output files still on disk.",
        discussion: """
        Reports each edited, deleted, reordered or inserted record, a torn last line, and each \
        changed or missing output, as LOG:LINE: KIND: DETAIL. With --trusted-keys, also each \
        unsigned, wrongly signed or unknown-key record. With --expect-head, a cut-off tail \
        (truncated) or a rewritten log (rewritten), or, for a merged log, a shard that is not all \
        in it (shardMissing); two heads of the same log are checked to be consistent (the newer \
        extends the older). Without keys and heads a cut-off tail or a whole rewritten log cannot \
        be noticed. Exit status 0 only when the log is intact.
        """)

    @Argument(help: "Audit log (JSON Lines).")
    var log: String

    @Flag(help: "Check the chain only; do not re-hash output files.")
    var skipOutputs = false

    @Option(help: "File of trusted public keys (PEM; .pub files joined with cat): every record must be signed by one of them.")
    var trustedKeys: String?

    @Option(name: .customLong("expect-head"),
            help: ArgumentHelp("A head from `stnreg audit head` (a file, or the one-line form): the log must still hold exactly that prefix (repeatable).",
                               valueName: "head"))
    var expectHeads: [String] = []

    func run() throws {
        let keys = try trustedKeys.map(AuditTrustedKeys.load)
        let heads = try expectHeads.map { AuditExpectedHead(name: $0.hasPrefix("stnreg-audit-head/") ? Self.abbreviate($0) : $0, head: try AuditHead.load($0)) }
        let v = try AuditVerifier.verify(path: log, checkOutputs: !skipOutputs, trustedKeys: keys, expectedHeads: heads)
        for p in v.problems {
            let against = p.head.map { " (against head \($0))" } ?? ""
            print(p.line > 0 ? "\(log):\(p.line): \(p.kind.rawValue): \(p.detail)\(against)" : "\(p.head ?? log): \(p.kind.rawValue): \(p.detail)")
        }
        for m in v.heads { if let text = Self.describe(m) { print("\(log): \(text)") } }
        let prefixes = v.heads.compactMap { m -> (String, Int)? in
            if case .prefix = m.found { return (m.name, m.head.records) } else { return nil }
        }.sorted { $0.1 < $1.1 }
        for (older, newer) in zip(prefixes, prefixes.dropFirst()) {
            print(newer.1 == older.1 ? "\(log): heads \(older.0) and \(newer.0) agree (\(plural(newer.1, "record")))"
                                     : "\(log): head \(newer.0) extends head \(older.0) by \(plural(newer.1 - older.1, "record"))")
        }
        var summary = plural(v.lineCount, "record")
        if keys != nil { summary += ", \(plural(v.signaturesChecked, "signature")) checked" }
        summary += ", \(v.outputsChecked) output files re-hashed"
        if keys == nil && v.signedRecords > 0 {
            printError("note: \(plural(v.signedRecords, "record")) signed; give --trusted-keys to check the signatures")
        }
        if heads.isEmpty {
            printError("note: without --expect-head a cut-off tail or a whole rewritten log goes unnoticed (see `stnreg audit head`)")
        }
        if v.isIntact {
            print("\(log): intact (\(summary))")
        } else {
            let damage = v.problems.filter { $0.kind.isDamage }.count
            print("\(log): NOT intact: \(damage) problem(s) (\(summary))")
            throw ExitCode.failure
        }
    }

    /// What the log holds of a head that was found.
    static func describe(_ m: AuditHeadMatch) -> String? {
        let signature: String
        switch m.signature {
        case .valid?: signature = "signed by trusted key \(m.head.keyID ?? "")"
        case nil: signature = m.head.keyID.map { "signed by key \($0), not checked: no --trusted-keys" } ?? "unsigned"
        default: signature = "signature not valid"
        }
        switch m.found {
        case .prefix(let appended):
            return "holds head \(m.name) (\(plural(m.head.records, "record")), \(m.head.time), \(signature)); \(plural(appended, "record")) appended since"
        case .shard:
            return "holds all \(plural(m.head.records, "record")) of the shard of head \(m.name) (\(m.head.time), \(signature))"
        case .notFound:
            return nil
        }
    }

    /// How a head given in its one-line form is named in the report: `last=<first 12 digits>…`.
    static func abbreviate(_ line: String) -> String {
        let last = line.split(separator: " ").first { $0.hasPrefix("last=") }.map { String($0.dropFirst(5).prefix(12)) + "…" } ?? "?"
        return "last=\(last)"
    }
}

/// "1 record", "2 records".
func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
