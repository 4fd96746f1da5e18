import Hashing

/// How records are chained and hashed.
///
/// A record is a JSON object: the caller's payload plus two members the log adds:
/// - `prev`: the `hash` of the record before it in the log (``genesis`` for the first);
/// - `hash`: SHA-256 (lowercase hex) of the ``CanonicalJSON`` encoding of the record
///   *without* its `hash` member (so `prev` is covered).
///
/// The line stored in the file is the canonical encoding of the whole record, `hash`
/// included, followed by `\n`. Editing, deleting, reordering or inserting a record breaks
/// either a record's own hash or the next record's `prev`.
public enum AuditChain {
    /// `prev` of the first record: 64 zeros.
    public static let genesis = String(repeating: "0", count: 64)

    /// Members the log manages; a payload may not hold them.
    public static let reservedKeys: Set<String> = ["prev", "hash"]

    /// Members `audit merge` adds to keep a merged record's provenance (see ``AuditMerge``).
    public static let provenanceKeys: Set<String> = ["sourceHash", "sourcePrev", "sourceShard"]

    /// The hash of a record whose members (without `hash`) are `body`.
    public static func hash(body: [String: AuditValue]) -> String {
        let h = SHA256.Hasher()
        h.update(CanonicalJSON.encode(.object(body)))
        return h.finalizeHex()
    }

    /// The stored line (without the line end) and the hash for `payload` chained after `prev`.
    public static func seal(_ payload: [String: AuditValue], prev: String) -> (line: [UInt8], hash: String) {
        precondition(payload["prev"] == nil && payload["hash"] == nil, "a payload may not hold 'prev' or 'hash'")
        var body = payload
        body["prev"] = .string(prev)
        let h = hash(body: body)
        body["hash"] = .string(h)
        return (CanonicalJSON.encode(.object(body)), h)
    }

    /// True for 64 lowercase hex digits.
    public static func isDigest(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

/// One record read back from a log.
public struct AuditRecord: Sendable, Equatable {
    /// 1-based line number in the file.
    public var line: Int
    /// Every member, `prev` and `hash` included.
    public var fields: [String: AuditValue]

    public init(line: Int, fields: [String: AuditValue]) {
        self.line = line
        self.fields = fields
    }

    /// The stored `prev` (empty when missing).
    public var prev: String { fields["prev"]?.string ?? "" }
    /// The stored `hash` (empty when missing).
    public var hash: String { fields["hash"]?.string ?? "" }

    /// The caller's members: everything but `prev` and `hash`.
    public var payload: [String: AuditValue] {
        var p = fields
        p["prev"] = nil
        p["hash"] = nil
        return p
    }

    /// The hash recomputed from the content (equal to ``hash`` unless the record was changed).
    public var recomputedHash: String {
        var body = fields
        body["hash"] = nil
        return AuditChain.hash(body: body)
    }

    /// For a merged record, the hash it had in its shard recomputed from its content (nil
    /// when the record has no `sourceHash`).
    public var recomputedSourceHash: String? {
        guard fields["sourceHash"] != nil else { return nil }
        var body = payload
        for k in AuditChain.provenanceKeys { body[k] = nil }
        body["prev"] = fields["sourcePrev"] ?? .null
        return AuditChain.hash(body: body)
    }
}
