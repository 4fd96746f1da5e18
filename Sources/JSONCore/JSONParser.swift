/// Why a text is not valid JSON: where parsing stopped and the problem.
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based line, and 1-based byte column within it.
    public var line: Int
    public var column: Int
    public var problem: String
    public init(line: Int, column: Int, problem: String) { self.line = line; self.column = column; self.problem = problem }
    /// `column N: problem` on the first line (an audit log line), else `line L, column N: problem`.
    public var description: String { line == 1 ? "column \(column): \(problem)" : "line \(line), column \(column): \(problem)" }
    /// The problem with its place, as the older file readers wrote it (`… at line L, column N`).
    public var message: String { "\(problem) at line \(line), column \(column)" }
}

/// The one strict JSON parser (RFC 8259) of the project, into a ``JSONValue``.
///
/// Numbers without a fraction or exponent that fit in Int64 become ``JSONValue/int(_:)``; all
/// others ``JSONValue/double(_:)`` (read with Swift's correctly rounded `Double(String)`, so
/// values written by `JSONEncoder` read back bit for bit; out of range is an error). No leading
/// zeros, no trailing commas, no comments. Errors give the line and byte column where parsing
/// stopped; nothing is thrown as control flow inside a value.
public struct JSONParser {
    /// What differs between an audit log line and a user file.
    public struct Options: Sendable {
        /// Reject an object with a key twice (a record must have one meaning), else keep the last.
        public var rejectDuplicateKeys: Bool
        /// Deepest nesting accepted.
        public var maxDepth: Int
        /// The text is one line of a log: an early end means the line is cut short.
        public var isLogLine: Bool

        /// One audit log line: duplicate keys rejected, 128 levels.
        public static let logLine = Options(rejectDuplicateKeys: true, maxDepth: 128, isLogLine: true)
        /// A user file (protocol, model header, transform JSON): the last duplicate wins, 512 levels.
        public static let file = Options(rejectDuplicateKeys: false, maxDepth: 512, isLogLine: false)
    }

    /// Parses `bytes` as exactly one JSON value (whitespace around it allowed).
    public static func parse(_ bytes: [UInt8], options: Options) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(bytes: bytes, options: options)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.pos == bytes.count else { throw p.error("unexpected text after the value") }
        return v
    }

    private let bytes: [UInt8]
    private var pos = 0


    private let options: Options

    private init(bytes: [UInt8], options: Options) { self.bytes = bytes; self.options = options }

    private func error(_ problem: String, at offset: Int? = nil) -> JSONSyntaxError {
        let at = min(offset ?? pos, bytes.count)
        var line = 1, lineStart = 0
        for n in 0..<at where bytes[n] == 0x0A { line += 1; lineStart = n + 1 }
        return JSONSyntaxError(line: line, column: at - lineStart + 1, problem: problem)
    }

    /// "unexpected end of line<inside> (the line is cut short)" for a log line, else "… of text".
    private func endError(_ inside: String = "") -> JSONSyntaxError {
        options.isLogLine ? error("unexpected end of line\(inside) (the line is cut short)") : error("unexpected end of text\(inside)")
    }

    private mutating func skipSpace() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x09 || bytes[pos] == 0x0A || bytes[pos] == 0x0D { pos += 1 }
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < options.maxDepth else { throw error("nested deeper than \(options.maxDepth) levels") }
        guard pos < bytes.count else { throw endError() }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default:
            let b = bytes[pos]
            throw error((0x21...0x7E).contains(b) ? "unexpected character '\(Character(Unicode.Scalar(b)))'" : "unexpected byte 0x\(String(b, radix: 16, uppercase: true))")
        }
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else { throw error("expected \(word)") }
        pos += w.count
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        pos += 1
        var o: [String: JSONValue] = [:]
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(o) }
        while true {
            skipSpace()
            guard pos < bytes.count else { throw endError(" inside an object") }
            guard bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a key in quotes") }
            let keyStart = pos
            let key = try string()
            skipSpace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            pos += 1
            skipSpace()
            let v = try value(depth: depth + 1)
            if o.updateValue(v, forKey: key) != nil, options.rejectDuplicateKeys {
                throw error("key '\(key)' appears twice", at: keyStart)
            }
            skipSpace()
            guard pos < bytes.count else { throw endError(" inside an object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(o) }
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        pos += 1
        var a: [JSONValue] = []
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(a) }
        while true {
            skipSpace()
            a.append(try value(depth: depth + 1))
            skipSpace()
            guard pos < bytes.count else { throw endError(" inside an array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(a) }
            throw error("expected ',' or ']' in an array")
        }
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        pos += 1
        let start = pos
        // Fast path: no escapes.
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: bytes[start..<pos], as: UTF8.self)
                pos += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("control character in a string (must be escaped)") }
            pos += 1
        }
        var out = Array(bytes[start..<pos])
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw error("control character in a string (must be escaped)") }
            if b != UInt8(ascii: "\\") { out.append(b); pos += 1; continue }
            pos += 1
            guard pos < bytes.count else { break }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired UTF-16 surrogate in \\u escape")
                    }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired UTF-16 surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("unpaired UTF-16 surrogate in \\u escape")
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default:
                throw error((0x21...0x7E).contains(e) ? "unknown escape '\\\(Character(Unicode.Scalar(e)))'" : "unknown escape: a backslash before byte 0x\(String(e, radix: 16, uppercase: true))")
            }
        }
        throw error(options.isLogLine ? "unterminated string (the line is cut short)" : "unterminated string")
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("\\u needs 4 hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("\\u needs 4 hex digits")
            }
            v = v * 16 + d
            pos += 1
        }
        return v
    }

    private mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = pos
        var isInteger = true
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) else {
            throw error("expected a digit")
        }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            let digits = pos
            while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
            guard pos > digits else { throw error("expected a digit after '.'") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            let digits = pos
            while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
            guard pos > digits else { throw error("expected a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else { throw error("number \(text) is out of range", at: start) }
        return .double(d)
    }
}
