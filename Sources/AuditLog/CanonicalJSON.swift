/// The canonical encoding of an ``AuditValue``: the bytes an audit record's hash is taken over.
///
/// One value has exactly one encoding:
/// - no whitespace anywhere; members `"key":value` separated by `,`;
/// - object keys sorted by their UTF-8 bytes (plain byte order, no locale, no Unicode folding);
/// - strings: `"` and `\` escaped as `\"` and `\\`; U+0008, U+000C, U+000A, U+000D, U+0009 as
///   `\b \f \n \r \t`; every other code point below U+0020 as `\u00xx` (lowercase hex); all
///   else, `/` and non-ASCII included, as raw UTF-8 (no `\u` escapes, no normalisation);
/// - `true`, `false`, `null`;
/// - numbers: an integer (``AuditValue/int(_:)``, or a Double with no fraction and |x| < 2⁵³)
///   as plain decimal digits with a leading `-` when negative (`0`, never `-0`); any other
///   finite Double as the shortest decimal that reads back to the same Double (Swift's
///   `Double.description`, e.g. `0.1`, `-2.5e-05`, `9007199254740992.0`, `1e+16`); NaN and ±∞
///   as `null`.
///
/// So `1`, `1.0` and `1e0` in a parsed file all encode as `1`, and an encoded value parsed
/// back with ``JSONLineParser`` encodes to the same bytes.
public enum CanonicalJSON {
    /// The canonical bytes of `value`.
    public static func encode(_ value: AuditValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(value, to: &out)
        return out
    }

    /// The canonical text of `value`.
    public static func string(_ value: AuditValue) -> String {
        String(decoding: encode(value), as: UTF8.self)
    }

    /// Appends the canonical bytes of `value` to `out`.
    public static func write(_ value: AuditValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: nullBytes)
        case .bool(let b): out.append(contentsOf: b ? trueBytes : falseBytes)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): writeNumber(d, to: &out)
        case .string(let s): writeString(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (n, v) in a.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                write(v, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (n, key) in sortedKeys(o).enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(o[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Keys in canonical order (UTF-8 byte order).
    public static func sortedKeys(_ o: [String: AuditValue]) -> [String] {
        o.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func writeNumber(_ d: Double, to out: inout [UInt8]) {
        guard d.isFinite else { out.append(contentsOf: nullBytes); return }
        if d == d.rounded(), abs(d) < 9_007_199_254_740_992 {
            out.append(contentsOf: String(Int64(d)).utf8)
        } else {
            out.append(contentsOf: d.description.utf8)
        }
    }

    static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hexDigits[Int(b >> 4)]); out.append(hexDigits[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let nullBytes = Array("null".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)
}
