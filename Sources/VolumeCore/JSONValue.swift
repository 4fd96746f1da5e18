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

    /// Parses JSON text (RFC 8259); the error says where parsing stopped (line and column).
    ///
    /// A small recursive-descent parser: numbers are converted with Swift's correctly rounded
    /// `Double(String)` (so values written by `JSONEncoder` read back bit for bit), nesting is
    /// limited to 512 levels, and no error is thrown as control flow.
    public static func parse(_ data: Data) -> Result<JSONValue, JSONSyntaxError> {
        var p = _JSONParser(bytes: [UInt8](data))
        return p.parseDocument()
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

/// The parser behind ``JSONValue/parse(_:)``.
struct _JSONParser {
    let bytes: [UInt8]
    var i = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() -> Result<JSONValue, JSONSyntaxError> {
        skipSpace()
        switch value() {
        case .failure(let e): return .failure(e)
        case .success(let v):
            skipSpace()
            return i == bytes.count ? .success(v) : .failure(error("unexpected text after the JSON value"))
        }
    }

    func error(_ message: String) -> JSONSyntaxError {
        var line = 1, column = 1
        for b in bytes[0..<min(i, bytes.count)] {
            if b == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return JSONSyntaxError(message: "\(message) at line \(line), column \(column)")
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func literal(_ word: String, _ v: JSONValue) -> Result<JSONValue, JSONSyntaxError> {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { return .failure(error("invalid literal")) }
        i += w.count
        return .success(v)
    }

    mutating func value() -> Result<JSONValue, JSONSyntaxError> {
        guard i < bytes.count else { return .failure(error("unexpected end of text")) }
        switch bytes[i] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    mutating func number() -> Result<JSONValue, JSONSyntaxError> {
        let start = i
        func digits(_ p: inout _JSONParser) -> Int {
            let s = p.i
            while p.i < p.bytes.count, p.bytes[p.i] >= 0x30, p.bytes[p.i] <= 0x39 { p.i += 1 }
            return p.i - s
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digits(&self) > 0 else { return .failure(error("invalid number")) }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { return .failure(error("invalid number")) }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { return .failure(error("invalid number")) }
        }
        guard let text = String(bytes: bytes[start..<i], encoding: .ascii), let d = Double(text) else {
            return .failure(error("invalid number"))
        }
        return .success(.number(d))
    }

    mutating func string() -> Result<String, JSONSyntaxError> {
        i += 1   // opening quote
        var out = [UInt8]()
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                guard let s = String(bytes: out, encoding: .utf8) else { return .failure(error("invalid UTF-8 in a string")) }
                return .success(s)
            }
            if b < 0x20 { return .failure(error("control character in a string")) }
            if b == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return .failure(error("invalid \\u escape")) }
                    if (0xD800..<0xDC00).contains(code) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            return .failure(error("unpaired surrogate"))
                        }
                        i += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return .failure(error("unpaired surrogate")) }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { return .failure(error("invalid \\u escape")) }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    return .failure(error("invalid escape"))
                }
                continue
            }
            out.append(b)
            i += 1
        }
        return .failure(error("unterminated string"))
    }

    mutating func hex4() -> UInt32? {
        guard i + 4 <= bytes.count, let s = String(bytes: bytes[i..<(i + 4)], encoding: .ascii), let v = UInt32(s, radix: 16) else { return nil }
        i += 4
        return v
    }

    mutating func array() -> Result<JSONValue, JSONSyntaxError> {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 512 else { return .failure(error("nesting deeper than 512 levels")) }
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .success(.array(items)) }
        while true {
            skipSpace()
            switch value() {
            case .failure(let e): return .failure(e)
            case .success(let v): items.append(v)
            }
            skipSpace()
            guard i < bytes.count else { return .failure(error("unterminated array")) }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .success(.array(items)) }
            return .failure(error("expected ',' or ']'"))
        }
    }

    mutating func object() -> Result<JSONValue, JSONSyntaxError> {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 512 else { return .failure(error("nesting deeper than 512 levels")) }
        i += 1
        var items: [String: JSONValue] = [:]
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .success(.object(items)) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return .failure(error("expected a key in quotes")) }
            let key: String
            switch string() {
            case .failure(let e): return .failure(e)
            case .success(let k): key = k
            }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return .failure(error("expected ':'")) }
            i += 1
            skipSpace()
            switch value() {
            case .failure(let e): return .failure(e)
            case .success(let v): items[key] = v
            }
            skipSpace()
            guard i < bytes.count else { return .failure(error("unterminated object")) }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .success(.object(items)) }
            return .failure(error("expected ',' or '}'"))
        }
    }
}
