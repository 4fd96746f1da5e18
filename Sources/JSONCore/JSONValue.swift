import Foundation

/// A parsed or built JSON value: the one value type of the project (user files — protocols,
/// model headers, transform JSON — and audit records, where AuditLog calls it `AuditValue`).
///
/// Booleans, integers and other numbers are kept apart: integers stay exact, which the audit
/// record's canonical hash needs (AuditLog's `CanonicalJSON` says how each is written); readers
/// that want a number of either kind use ``number``.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// An integer (written without a fraction or exponent).
    case int(Int64)
    /// Any other number. Non-finite values are written as `null` (JSON has no NaN).
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The members when this is an object.
    public var object: [String: JSONValue]? {
        if case .object(let o) = self { return o } else { return nil }
    }

    /// The elements when this is an array.
    public var array: [JSONValue]? {
        if case .array(let a) = self { return a } else { return nil }
    }

    /// The text when this is a string.
    public var string: String? {
        if case .string(let s) = self { return s } else { return nil }
    }

    /// The number (integer or not) as a Double.
    public var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The value when this is a boolean.
    public var bool: Bool? {
        if case .bool(let b) = self { return b } else { return nil }
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true } else { return false }
    }

    /// Member `key` of an object (nil when absent or not an object).
    public subscript(key: String) -> JSONValue? {
        object?[key]
    }

    /// A number that is written as an integer when it is one (|x| < 2⁵³), else as a Double.
    public static func number(_ x: Double) -> JSONValue {
        guard x.isFinite else { return .null }
        if x == x.rounded(), abs(x) < 9_007_199_254_740_992 { return .int(Int64(x)) }
        return .double(x)
    }

    /// An array of numbers (see ``number(_:)``).
    public static func numbers(_ xs: [Double]) -> JSONValue { .array(xs.map(JSONValue.number)) }

    /// A string, or null when `s` is nil.
    public static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    /// A short name of the value's type for error messages ("a number", "an object", …).
    public var typeName: String {
        switch self {
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        case .null: return "null"
        }
    }

    /// Parses JSON text (RFC 8259) of a user file: duplicate keys keep the last value, nesting
    /// up to 512 levels; the error says where parsing stopped (line and column).
    public static func parse(_ data: Data) -> Result<JSONValue, JSONSyntaxError> {
        do { return .success(try JSONParser.parse([UInt8](data), options: .file)) } catch { return .failure(error) }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var o: [String: JSONValue] = [:]
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
}
