@_exported import JSONCore

/// A JSON value tree for audit records: the payload the log stores, hashes and verifies.
///
/// The one JSON value of the project (``JSONValue`` in JSONCore, which knows nothing of
/// imaging either); callers build the tree. Integers and other numbers are kept apart so that
/// integers stay exact (see ``CanonicalJSON`` for how each is written).
public typealias AuditValue = JSONValue

/// The parser of one audit log line: ``JSONParser`` with duplicate keys rejected (a record must
/// have one meaning); errors give the byte column (1-based) where parsing stopped.
public enum JSONLineParser {
    public typealias SyntaxError = JSONSyntaxError

    /// Parses `bytes` as exactly one JSON value (whitespace around it allowed).
    public static func parse(_ bytes: [UInt8]) throws -> AuditValue { try JSONParser.parse(bytes, options: .logLine) }

    /// Parses a UTF-8 string as one JSON value.
    public static func parse(_ text: String) throws -> AuditValue { try parse(Array(text.utf8)) }
}
