import Foundation
import Hashing
import JSONCore

/// A small signed statement of what a log held at one moment, to keep where the log's writer
/// cannot change it (Certificate Transparency's signed tree head, for a hash chain).
///
/// Members (schema `stnreg-audit-head` version 1):
/// - `records`: the number of records; `lastHash`: the `hash` of the last one (``AuditChain/genesis``
///   for an empty log). Since every record holds its predecessor's hash, these two pin the
///   whole prefix: a log "contains the head" when its line `records` has hash `lastHash`.
/// - `time`: when the head was taken (UTC, ISO 8601 with milliseconds);
/// - `keyId`: the signer's key id, or null for an unsigned head;
/// - `shards` (merged logs only): for each shard chain merged into the log, its `records`,
///   `lastHash` (the shard record's own hash, `sourceHash` in the merge) and `keyId` (the
///   signer of that last record, or null);
/// - `signature`: Ed25519 over ``signaturePrefix`` followed by the ``CanonicalJSON`` encoding
///   of every other member (absent when unsigned).
///
/// The one-line form (``line``) carries the same members:
/// `stnreg-audit-head/1 records=N last=HASH time=TIME key=KEYID|- [shard=N:HASH:KEYID|- …] sig=HEX|-`.
public struct AuditHead: Sendable, Equatable {
    public static let schemaName = "stnreg-audit-head"
    public static let schemaVersion = 1
    /// What a head's signature is over: these bytes, then the canonical JSON of the unsigned head.
    public static let signaturePrefix = Array("stnreg-audit-head-v1\n".utf8)
    static let linePrefix = "stnreg-audit-head/1"

    /// One shard chain in a merged log.
    public struct Shard: Sendable, Equatable {
        public var records: Int
        public var lastHash: String
        public var keyID: String?

        public init(records: Int, lastHash: String, keyID: String?) {
            self.records = records
            self.lastHash = lastHash
            self.keyID = keyID
        }
    }

    public var records: Int
    public var lastHash: String
    public var time: String
    public var keyID: String?
    public var shards: [Shard]
    public var signature: String?

    public init(records: Int, lastHash: String, time: String, keyID: String? = nil, shards: [Shard] = [], signature: String? = nil) {
        self.records = records
        self.lastHash = lastHash
        self.time = time
        self.keyID = keyID
        self.shards = shards
        self.signature = signature
    }

    /// The head of `records` (a whole log, in order), signed by `signer` when given.
    public static func of(_ records: [AuditRecord], time: Date = Date(), signer: AuditSigner?) throws -> AuditHead {
        var head = AuditHead(records: records.count, lastHash: records.last?.hash ?? AuditChain.genesis,
                             time: UTCTime.string(.milliseconds, at: time), keyID: signer?.keyID, shards: shardChains(records))
        if let signer { head.signature = try signer.sign(head.signedMessage) }
        return head
    }

    /// The shard chains of a merged log: records linked by `sourcePrev` → `sourceHash`, each
    /// ending at a record no other record follows; in the order of their last records' lines.
    static func shardChains(_ records: [AuditRecord]) -> [Shard] {
        var bySource: [String: AuditRecord] = [:]
        var followed = Set<String>()
        for r in records {
            guard let s = r.fields["sourceHash"]?.string else { continue }
            bySource[s] = r
            if let p = r.fields["sourcePrev"]?.string { followed.insert(p) }
        }
        var out: [Shard] = []
        for r in records {
            guard let s = r.fields["sourceHash"]?.string, !followed.contains(s) else { continue }
            var count = 1
            var cur = r
            while let p = cur.fields["sourcePrev"]?.string, p != AuditChain.genesis, let before = bySource[p], count <= records.count {
                count += 1
                cur = before
            }
            out.append(Shard(records: count, lastHash: s, keyID: r.signedBy))
        }
        return out
    }

    /// Every member but `signature`.
    public var body: AuditValue {
        var o: [String: AuditValue] = [
            "schema": .string(AuditHead.schemaName), "schemaVersion": .int(Int64(AuditHead.schemaVersion)),
            "records": .int(Int64(records)), "lastHash": .string(lastHash), "time": .string(time),
            "keyId": .optional(keyID),
        ]
        if !shards.isEmpty {
            o["shards"] = .array(shards.map { ["records": .int(Int64($0.records)), "lastHash": .string($0.lastHash), "keyId": .optional($0.keyID)] })
        }
        return .object(o)
    }

    /// The bytes the signature is over.
    public var signedMessage: [UInt8] { AuditHead.signaturePrefix + CanonicalJSON.encode(body) }

    /// The head as JSON (two-space indentation, sorted keys).
    public var json: String {
        var o = body.object!
        if let signature { o["signature"] = .string(signature) }
        return PrettyJSON.string(.object(o))
    }

    /// The one-line form.
    public var line: String {
        var parts = [AuditHead.linePrefix, "records=\(records)", "last=\(lastHash)", "time=\(time)", "key=\(keyID ?? "-")"]
        for s in shards { parts.append("shard=\(s.records):\(s.lastHash):\(s.keyID ?? "-")") }
        parts.append("sig=\(signature ?? "-")")
        return parts.joined(separator: " ")
    }

    /// How the head's signature stands against `trusted`.
    public enum SignatureStatus: Sendable, Equatable {
        case valid
        case unsigned
        case unknownKey
        case wrong
    }

    public func signatureStatus(_ trusted: AuditTrustedKeys) -> SignatureStatus {
        guard let keyID, let signature else { return .unsigned }
        guard let key = trusted.byID[keyID] else { return .unknownKey }
        guard let sig = Hex.decode(signature), key.isValidSignature(sig, for: signedMessage) else { return .wrong }
        return .valid
    }

    /// Writes the head's JSON to a new file at `path` (never over an existing file).
    public func write(to path: String) throws {
        try AuditMerge.writeNew(Data((json + "\n").utf8), to: path, what: "the head file")
    }

    /// The head of the log at `path`, which must verify first (chain and records, and the
    /// signatures when `trustedKeys` are given; outputs are not re-hashed): a head is never
    /// taken of a damaged log.
    public static func of(log path: String, signer: AuditSigner?, trustedKeys: AuditTrustedKeys? = nil, time: Date = Date()) throws -> AuditHead {
        let check = try AuditVerifier.verify(path: path, checkOutputs: false, trustedKeys: trustedKeys)
        if let p = check.problems.first(where: { $0.kind.isDamage }) {
            throw AuditLogError(path: path, line: p.line > 0 ? p.line : nil,
                                problem: "\(p.kind.rawValue): \(p.detail); the log does not verify, so no head is taken of it (\(check.problems.count) problem(s); run `stnreg audit verify \(path)`)")
        }
        do {
            return try of(try AuditLogFile(path: path).readRecords(), time: time, signer: signer)
        } catch let e as AuditLogError {
            throw e
        } catch {
            throw AuditLogError(path: path, problem: "cannot sign the head: \(error)")
        }
    }

    // MARK: Reading

    /// A head given on the command line: the one-line form itself, or a file holding the JSON or
    /// the one-line form. Errors name the file (or the text) and what is wrong.
    public static func load(_ argument: String) throws -> AuditHead {
        if argument.hasPrefix(linePrefix + " ") { return try parse(argument, source: "the head given") }
        guard let data = FileManager.default.contents(atPath: argument) else {
            throw AuditLogError(path: argument, problem: FileManager.default.fileExists(atPath: argument)
                                ? "cannot read the head (check its permissions)"
                                : "no such head file; give a file written by `stnreg audit head`, or its one-line form in quotes")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: argument)
    }

    /// Parses a head's JSON or one-line form; `source` names it in errors.
    public static func parse(_ text: String, source: String) throws -> AuditHead {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        func bad(_ problem: String) -> AuditLogError {
            AuditLogError(path: source, problem: problem + "; give the JSON or the one-line form that `stnreg audit head` prints")
        }
        if t.hasPrefix(linePrefix + " ") {
            var head = AuditHead(records: -1, lastHash: "", time: "")
            var sawSig = false
            for token in t.split(separator: " ").dropFirst() {
                guard let eq = token.firstIndex(of: "=") else { throw bad("'\(token)' is not NAME=VALUE") }
                let name = token[..<eq], value = String(token[token.index(after: eq)...])
                switch name {
                case "records": head.records = Int(value) ?? -1
                case "last": head.lastHash = value
                case "time": head.time = value
                case "key": head.keyID = value == "-" ? nil : value
                case "sig": head.signature = value == "-" ? nil : value; sawSig = true
                case "shard":
                    let f = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    guard f.count == 3, let n = Int(f[0]) else { throw bad("shard=\(value) is not RECORDS:HASH:KEYID") }
                    head.shards.append(Shard(records: n, lastHash: f[1], keyID: f[2] == "-" ? nil : f[2]))
                default: throw bad("unknown member '\(name)'")
                }
            }
            guard sawSig else { throw bad("the line has no sig= (is it cut short?)") }
            try head.check(bad)
            return head
        }
        let value: AuditValue
        do { value = try JSONLineParser.parse(t) } catch { throw bad("neither a one-line head nor valid JSON (\(error))") }
        guard let o = value.object else { throw bad("not a JSON object") }
        guard o["schema"]?.string == schemaName else { throw bad("'schema' is not \"\(schemaName)\"") }
        guard o["schemaVersion"] == .int(Int64(schemaVersion)) else { throw bad("'schemaVersion' is not \(schemaVersion)") }
        let known: Set<String> = ["schema", "schemaVersion", "records", "lastHash", "time", "keyId", "shards", "signature"]
        if let k = o.keys.sorted().first(where: { !known.contains($0) }) { throw bad("unknown member '\(k)'") }
        guard case .int(let n)? = o["records"] else { throw bad("'records' must be an integer") }
        var head = AuditHead(records: Int(n), lastHash: o["lastHash"]?.string ?? "", time: o["time"]?.string ?? "",
                             keyID: o["keyId"]?.string, signature: o["signature"]?.string)
        for s in o["shards"]?.array ?? [] {
            guard case .int(let c)? = s["records"], let h = s["lastHash"]?.string else { throw bad("a shard needs 'records' and 'lastHash'") }
            head.shards.append(Shard(records: Int(c), lastHash: h, keyID: s["keyId"]?.string))
        }
        try head.check(bad)
        return head
    }

    private func check(_ bad: (String) -> AuditLogError) throws {
        guard records >= 0 else { throw bad("'records' must be a count (0 or more)") }
        guard AuditChain.isDigest(lastHash) else { throw bad("the last hash must be 64 lowercase hex digits") }
        guard !time.isEmpty else { throw bad("the head has no time") }
        if (keyID == nil) != (signature == nil) { throw bad("a signed head has both a key id and a signature") }
        for s in shards where s.records < 1 || !AuditChain.isDigest(s.lastHash) {
            throw bad("a shard needs a record count of 1 or more and a 64-digit hash")
        }
    }

}
