import Foundation

/// A parsed JSON value that keeps booleans and numbers apart, for validating user files
/// (protocols, model headers, transform records) with errors that name the key.
public enum JSONValue: Decodable, Equatable, Sendable {
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let n = try? c.decode(Double.self) { self = .number(n); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    /// Parses JSON text; the error string says where parsing stopped.
    ///
    /// Uses Foundation's `JSONSerialization` (no errors thrown as control flow, so it stays
    /// fast on deep or malformed input) and tells booleans from numbers by their type.
    public static func parse(_ data: Data) -> Result<JSONValue, JSONSyntaxError> {
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let ns = error as NSError
            let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String ?? ns.localizedDescription
            return .failure(JSONSyntaxError(message: detail))
        }
        return .success(convert(any))
    }

    private static func convert(_ v: Any) -> JSONValue {
        switch v {
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            return .number(n.doubleValue)
        case let s as String: return .string(s)
        case let a as [Any]: return .array(a.map(convert))
        case let o as [String: Any]: return .object(o.mapValues(convert))
        default: return .null
        }
    }

    /// A short name of the value's type for error messages ("a number", "an object", …).
    public var typeName: String {
        switch self {
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        case .null: return "null"
        }
    }
}

/// Why a text is not valid JSON.
public struct JSONSyntaxError: Error, Equatable, Sendable {
    public var message: String
}
