import Foundation

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
        /// With trusted keys: a record (or head) that carries no signature.
        case unsigned
        /// A signature that does not verify for its record's hash (the record was rewritten after
        /// it was signed, or the signature replaced), one that is not 128 hex digits, or one that
        /// was removed from a record that still names its signer.
        case badSignature
        /// Signed by a key that is not among the trusted keys.
        case unknownKey
        /// Against an expected head: the log holds fewer records than the head counts.
        case truncated
        /// Against an expected head: the log no longer holds the head's last record at its line.
        case rewritten
        /// A shard chain (from a shard's head, or a merged head) that is not all in the merged log.
        case shardMissing

        /// False only for informational kinds that leave the log intact.
        public var isDamage: Bool { self != .outputSuperseded }
    }

    /// 1-based line number of the record; 0 for a problem of a head as a whole (see ``head``).
    public var line: Int
    public var kind: Kind
    public var detail: String
    /// The expected head (as named by the caller) the problem was found against, if any.
    public var head: String?

    public init(line: Int, kind: Kind, detail: String, head: String? = nil) {
        self.line = line
        self.kind = kind
        self.detail = detail
        self.head = head
    }

    public var description: String {
        line > 0 ? "line \(line): \(kind.rawValue): \(detail)" : "\(head ?? "log"): \(kind.rawValue): \(detail)"
    }
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
    /// Problems in line order (head problems of line 0 first).
    public var problems: [AuditProblem]
    /// Record signatures checked against trusted keys (valid or not).
    public var signaturesChecked: Int = 0
    /// Records that carry a signature (checked or not).
    public var signedRecords: Int = 0
    /// How each expected head stands, in the order given.
    public var heads: [AuditHeadMatch] = []

    /// True when nothing is damaged (informational notes allowed).
    public var isIntact: Bool { !problems.contains { $0.kind.isDamage } }
}

/// A head to verify a log against, with the name to report it by (e.g. its file).
public struct AuditExpectedHead: Sendable {
    public var name: String
    public var head: AuditHead

    public init(name: String, head: AuditHead) {
        self.name = name
        self.head = head
    }
}

/// How one expected head stands against the log.
public struct AuditHeadMatch: Sendable {
    public var name: String
    public var head: AuditHead
    /// What the head was found as.
    public enum Found: Sendable, Equatable {
        /// The log's first `head.records` records are exactly the head's.
        case prefix(appendedSince: Int)
        /// A shard's head: all its records are in this merged log.
        case shard
        /// Not found (see the problems).
        case notFound
    }
    public var found: Found
    /// The head's signature against the trusted keys (nil when no keys were given).
    public var signature: AuditHead.SignatureStatus?
}
