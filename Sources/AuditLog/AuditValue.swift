/// A JSON value tree for audit records: the payload the log stores, hashes and verifies.
///
/// The module knows nothing about what a record describes; callers build the tree.
/// Integers and other numbers are kept apart so that integers stay exact (see
/// ``CanonicalJSON`` for how each is written).
public enum AuditValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// An integer (written without a fraction or exponent).
    case int(Int64)
    /// Any other number. Non-finite values are written as `null` (JSON has no NaN).
    case double(Double)
    case string(String)
    case array([AuditValue])
    case object([String: AuditValue])

    /// The members when this is an object.
    public var object: [String: AuditValue]? {
        if case .object(let o) = self { return o } else { return nil }
    }

    /// The elements when this is an array.
    public var array: [AuditValue]? {
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
    public subscript(key: String) -> AuditValue? {
        object?[key]
    }

    /// A number that is written as an integer when it is one (|x| < 2⁵³), else as a Double.
    public static func number(_ x: Double) -> AuditValue {
        guard x.isFinite else { return .null }
        if x == x.rounded(), abs(x) < 9_007_199_254_740_992 { return .int(Int64(x)) }
        return .double(x)
    }

    /// An array of numbers (see ``number(_:)``).
    public static func numbers(_ xs: [Double]) -> AuditValue { .array(xs.map(AuditValue.number)) }

    /// A string, or null when `s` is nil.
    public static func optional(_ s: String?) -> AuditValue { s.map(AuditValue.string) ?? .null }
}

extension AuditValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: AuditValue...) { self = .array(elements) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(dictionaryLiteral elements: (String, AuditValue)...) {
        var o: [String: AuditValue] = [:]
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
}
