/// Human-readable JSON for an ``AuditValue``: two-space indentation, keys sorted as in
/// ``CanonicalJSON``, numbers and strings written exactly as there. For display only; hashes
/// are always taken over the canonical form.
public enum PrettyJSON {
    public static func string(_ value: AuditValue) -> String {
        var out: [UInt8] = []
        write(value, indent: 0, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ value: AuditValue, indent: Int, to out: inout [UInt8]) {
        let pad = [UInt8](repeating: 0x20, count: 2 * (indent + 1)), end = [UInt8](repeating: 0x20, count: 2 * indent)
        switch value {
        case .array(let a) where !a.isEmpty && a.contains(where: { $0.array != nil || $0.object != nil }):
            out += Array("[\n".utf8)
            for (n, v) in a.enumerated() {
                out += pad
                write(v, indent: indent + 1, to: &out)
                out += Array((n < a.count - 1 ? ",\n" : "\n").utf8)
            }
            out += end; out.append(UInt8(ascii: "]"))
        case .array(let a) where !a.isEmpty:
            out.append(UInt8(ascii: "["))
            for (n, v) in a.enumerated() {
                if n > 0 { out += Array(", ".utf8) }
                CanonicalJSON.write(v, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o) where !o.isEmpty:
            out += Array("{\n".utf8)
            let keys = CanonicalJSON.sortedKeys(o)
            for (n, k) in keys.enumerated() {
                out += pad
                CanonicalJSON.writeString(k, to: &out)
                out += Array(": ".utf8)
                write(o[k]!, indent: indent + 1, to: &out)
                out += Array((n < keys.count - 1 ? ",\n" : "\n").utf8)
            }
            out += end; out.append(UInt8(ascii: "}"))
        default:
            CanonicalJSON.write(value, to: &out)
        }
    }
}
