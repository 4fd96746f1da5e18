import Foundation
import VolumeCore

/// One key of a protocol section: its name, its type and range (in how it is read), and whether
/// it may be left out — then the field keeps the default its type declares (``RegistrationProtocol``'s
/// nested types), so a default is written once. The tables are in ProtocolKeys.swift.
struct ProtocolKey<Section>: Sendable {
    let name: String
    let isOptional: Bool
    let read: @Sendable (ObjectReader, [String: JSONValue], inout Section) throws -> Void

    static func number(_ name: String, _ field: WritableKeyPath<Section, Double> & Sendable, in range: ClosedRange<Double>,
                       optional: Bool = false) -> Self {
        .init(name: name, isOptional: optional) { r, o, s in s[keyPath: field] = try r.number(o, name, in: range) }
    }

    /// A number that is nil when the key is absent.
    static func number(_ name: String, _ field: WritableKeyPath<Section, Double?> & Sendable, in range: ClosedRange<Double>) -> Self {
        .init(name: name, isOptional: true) { r, o, s in s[keyPath: field] = try r.number(o, name, in: range) }
    }

    static func integer(_ name: String, _ field: WritableKeyPath<Section, Int> & Sendable, in range: ClosedRange<Int>,
                        optional: Bool = false) -> Self {
        .init(name: name, isOptional: optional) { r, o, s in s[keyPath: field] = try r.integer(o, name, in: range) }
    }

    static func bool(_ name: String, _ field: WritableKeyPath<Section, Bool> & Sendable) -> Self {
        .init(name: name, isOptional: false) { r, o, s in s[keyPath: field] = try r.bool(o, name) }
    }

    static func string(_ name: String, _ field: WritableKeyPath<Section, String> & Sendable) -> Self {
        .init(name: name, isOptional: false) { r, o, s in s[keyPath: field] = try r.string(o, name) }
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ field: WritableKeyPath<Section, E> & Sendable,
                                                           optional: Bool = false) -> Self where E.RawValue == String {
        .init(name: name, isOptional: optional) { r, o, s in s[keyPath: field] = try r.choice(o, name, E.self) }
    }

    /// A choice that is nil when the key is absent.
    static func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ field: WritableKeyPath<Section, E?> & Sendable) -> Self
        where E.RawValue == String {
        .init(name: name, isOptional: true) { r, o, s in s[keyPath: field] = try r.choice(o, name, E.self) }
    }

    /// A key read by `body` (arrays, nested sections, checks across keys).
    static func custom(_ name: String, optional: Bool = false,
                       _ body: @escaping @Sendable (ObjectReader, [String: JSONValue], inout Section) throws -> Void) -> Self {
        .init(name: name, isOptional: optional, read: body)
    }
}

/// Reads a JSON object with typed accessors; errors name the key with its path and the file.
struct ObjectReader: Sendable {
    let path: String
    let prefix: String

    /// Reads `obj` by `table` into `blank` (whose optional fields hold their defaults): first an
    /// unknown key and a missing required key are errors, then each present key is read in table order.
    func read<S>(_ obj: [String: JSONValue], _ table: [ProtocolKey<S>], into blank: S) throws -> S {
        try checkKeys(obj, allowed: table.map(\.name), optional: table.filter(\.isOptional).map(\.name))
        var section = blank
        for key in table where obj[key.name] != nil { try key.read(self, obj, &section) }
        return section
    }

    func fail(_ key: String, _ problem: String) -> ProtocolError {
        ProtocolError(path: path, key: prefix + key, problem: problem)
    }

    func checkKeys(_ obj: [String: JSONValue], allowed: [String], optional: [String] = []) throws {
        for k in obj.keys.sorted() where !allowed.contains(k) {
            throw fail(k, "unknown key (allowed here: \(allowed.joined(separator: ", ")))")
        }
        for k in allowed where obj[k] == nil && !optional.contains(k) {
            throw fail(k, "missing")
        }
    }

    func number(_ obj: [String: JSONValue], _ key: String, in range: ClosedRange<Double>) throws -> Double {
        guard let v = obj[key]?.number else {
            throw fail(key, "expected a number, found \(obj[key]?.typeName ?? "nothing")")
        }
        guard v.isFinite, range.contains(v) else {
            throw fail(key, "\(v) is out of range (\(range.lowerBound) to \(range.upperBound))")
        }
        return v
    }

    func integer(_ obj: [String: JSONValue], _ key: String, in range: ClosedRange<Int>) throws -> Int {
        let v = try number(obj, key, in: Double(range.lowerBound)...Double(range.upperBound))
        guard v == v.rounded() else { throw fail(key, "expected a whole number, found \(v)") }
        return Int(v)
    }

    func string(_ obj: [String: JSONValue], _ key: String) throws -> String {
        guard case .string(let s)? = obj[key] else { throw fail(key, "expected a string, found \(obj[key]?.typeName ?? "nothing")") }
        return s
    }

    func bool(_ obj: [String: JSONValue], _ key: String) throws -> Bool {
        guard case .bool(let b)? = obj[key] else {
            throw fail(key, "expected true or false, found \(obj[key]?.typeName ?? "nothing")")
        }
        return b
    }

    func choice<E: RawRepresentable & CaseIterable>(_ obj: [String: JSONValue], _ key: String, _: E.Type) throws -> E where E.RawValue == String {
        let s = try string(obj, key)
        guard let e = E(rawValue: s) else {
            throw fail(key, "'\(s)' is not one of \(E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
        }
        return e
    }

    func object(_ obj: [String: JSONValue], _ key: String) throws -> [String: JSONValue] {
        guard case .object(let o)? = obj[key] else { throw fail(key, "expected an object, found \(obj[key]?.typeName ?? "nothing")") }
        return o
    }

    func array(_ obj: [String: JSONValue], _ key: String) throws -> [JSONValue] {
        guard case .array(let a)? = obj[key] else { throw fail(key, "expected an array, found \(obj[key]?.typeName ?? "nothing")") }
        return a
    }

    func nested(_ key: String) -> ObjectReader { ObjectReader(path: path, prefix: prefix + key + ".") }
}
