import Hashing

/// How records are chained, hashed and signed.
///
/// A record is a JSON object: the caller's payload plus the members the log adds:
/// - `prev`: the `hash` of the record before it in the log (``genesis`` for the first);
/// - `signedBy` (signed records only): the signer's key id, 16 hex digits (``AuditSigner``);
/// - `hash`: SHA-256 (lowercase hex) of the ``CanonicalJSON`` encoding of the record *without*
///   its `hash` and `signature` members (so `prev` and `signedBy` are covered);
/// - `signature` (signed records only): the Ed25519 signature (128 hex digits) of the bytes
///   ``recordSignaturePrefix`` followed by the 64 ASCII hex digits of `hash`.
///
/// `signature` is the only member the hash leaves out besides `hash` itself, so an unsigned
/// record hashes exactly as before signing existed and old logs verify unchanged. A record whose
/// signature was stripped still names its signer in `signedBy`, which the hash covers.
///
/// The line stored in the file is the canonical encoding of the whole record, `hash` (and
/// `signature`) included, followed by `\n`. Editing, deleting, reordering or inserting a record
/// breaks either a record's own hash or the next record's `prev`; rewriting records with
/// recomputed hashes breaks their signatures; cutting off the tail or rewriting the whole log
/// shows only against a head kept elsewhere (``AuditHead``).
public enum AuditChain {
    /// `prev` of the first record: 64 zeros.
    public static let genesis = String(repeating: "0", count: 64)

    /// Members the log manages; a payload given to ``AuditLogFile/append(_:signer:)`` may not hold them.
    public static let reservedKeys: Set<String> = ["prev", "hash", "signedBy", "signature"]

    /// Members `audit merge` adds to keep a merged record's provenance (see ``AuditMerge``).
    public static let provenanceKeys: Set<String> = ["sourceHash", "sourcePrev", "sourceShard", "sourceSignature"]

    /// What a record's signature is over: these bytes, then the record's `hash` as 64 ASCII hex digits.
    public static let recordSignaturePrefix = Array("stnreg-audit-record-v1\n".utf8)

    /// The message signed for a record whose hash is `hash`.
    public static func signedMessage(recordHash hash: String) -> [UInt8] {
        recordSignaturePrefix + Array(hash.utf8)
    }

    /// The hash of a record whose members (without `hash`) are `body`.
    public static func hash(body: [String: AuditValue]) -> String {
        let h = SHA256.Hasher()
        h.update(CanonicalJSON.encode(.object(body)))
        return h.finalizeHex()
    }

    /// The stored line (without the line end) and the hash for `payload` chained after `prev`,
    /// unsigned. A payload may not hold `prev`, `hash` or `signature`; it may hold `signedBy`
    /// (``AuditMerge`` keeps a shard record's signer).
    public static func seal(_ payload: [String: AuditValue], prev: String) -> (line: [UInt8], hash: String) {
        precondition(payload["prev"] == nil && payload["hash"] == nil && payload["signature"] == nil,
                     "a payload may not hold 'prev', 'hash' or 'signature'")
        var body = payload
        body["prev"] = .string(prev)
        let h = hash(body: body)
        body["hash"] = .string(h)
        return (CanonicalJSON.encode(.object(body)), h)
    }

    /// As ``seal(_:prev:)``, signed by `signer` when one is given: adds `signedBy` (before
    /// hashing) and `signature` (after). Throws only when libcrypto fails to sign.
    public static func seal(_ payload: [String: AuditValue], prev: String, signer: AuditSigner?) throws -> (line: [UInt8], hash: String) {
        guard let signer else { return seal(payload, prev: prev) }
        precondition(payload["signedBy"] == nil, "a payload to be signed may not hold 'signedBy'")
        var body = payload
        body["signedBy"] = .string(signer.keyID)
        let sealed = seal(body, prev: prev)
        let signature = try signer.signature(recordHash: sealed.hash)
        body["prev"] = .string(prev)
        body["hash"] = .string(sealed.hash)
        body["signature"] = .string(signature)
        return (CanonicalJSON.encode(.object(body)), sealed.hash)
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

    /// The signer's key id (nil for an unsigned record).
    public var signedBy: String? { fields["signedBy"]?.string }
    /// The stored signature, hex (nil for an unsigned record).
    public var signature: String? { fields["signature"]?.string }

    /// The caller's members: everything but `prev`, `hash`, `signedBy` and `signature`.
    public var payload: [String: AuditValue] {
        var p = fields
        for k in AuditChain.reservedKeys { p[k] = nil }
        return p
    }

    /// The hash recomputed from the content (equal to ``hash`` unless the record was changed).
    public var recomputedHash: String {
        var body = fields
        body["hash"] = nil
        body["signature"] = nil
        return AuditChain.hash(body: body)
    }

    /// For a merged record, the hash it had in its shard recomputed from its content (nil
    /// when the record has no `sourceHash`).
    public var recomputedSourceHash: String? {
        guard fields["sourceHash"] != nil else { return nil }
        var body = payload
        for k in AuditChain.provenanceKeys { body[k] = nil }
        body["prev"] = fields["sourcePrev"] ?? .null
        if let s = fields["signedBy"] { body["signedBy"] = s }
        return AuditChain.hash(body: body)
    }
}
