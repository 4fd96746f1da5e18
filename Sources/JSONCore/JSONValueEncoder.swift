/// Encodes any `Encodable` to a ``JSONValue`` tree: the bridge from Codable types (the audit
/// record payload) to the canonical form AuditLog hashes.
///
/// Numbers as ``JSONValue/number(_:)`` writes them: integers (of any integer type, and Doubles
/// with no fraction below 2⁵³) stay exact as ``JSONValue/int(_:)``, other Doubles are
/// ``JSONValue/double(_:)``, and NaN and ±∞ become null. With ``NilEncoding/null`` (the default)
/// an absent optional member is written as `null` (a record then always has the member); with
/// ``NilEncoding/omit`` it is left out, as `JSONEncoder` does. Several keyed containers asked of
/// one encoder write into one object, so a type may encode another into its own members.
public struct JSONValueEncoder: Sendable {
    public enum NilEncoding: Sendable { case null, omit }
    public var nilEncoding: NilEncoding

    public init(nilEncoding: NilEncoding = .null) { self.nilEncoding = nilEncoding }

    /// The value tree of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try _encode(value, options: self, codingPath: []).value
    }
}

/// One node of the tree being built (objects and arrays are filled in place).
final class _Box {
    enum Storage { case empty, leaf(JSONValue), object(_Object), array(_Array) }
    var storage: Storage
    init(_ storage: Storage = .empty) { self.storage = storage }

    var value: JSONValue {
        switch storage {
        case .empty: return .null
        case .leaf(let v): return v
        case .object(let o): return .object(o.members.mapValues(\.value))
        case .array(let a): return .array(a.items.map(\.value))
        }
    }
}

final class _Object {
    var members: [String: _Box] = [:]
    func set(_ key: String, _ box: _Box) { members[key] = box }
}

final class _Array {
    var items: [_Box] = []
    func append(_ box: _Box) { items.append(box) }
}

private func _primitive(_ v: Bool) -> JSONValue { .bool(v) }
private func _primitive(_ v: String) -> JSONValue { .string(v) }
private func _primitive(_ v: Double) -> JSONValue { .number(v) }
private func _primitive(_ v: Float) -> JSONValue { .number(Double(v)) }
private func _primitive(_ v: Int) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: Int8) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: Int16) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: Int32) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: Int64) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: UInt) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: UInt8) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: UInt16) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: UInt32) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }
private func _primitive(_ v: UInt64) -> JSONValue { Int64(exactly: v).map(JSONValue.int) ?? .number(Double(v)) }

private func _encode<T: Encodable>(_ value: T, options: JSONValueEncoder, codingPath: [CodingKey]) throws -> _Box {
    switch value {
    case let v as Double: return _Box(.leaf(_primitive(v)))
    case let v as Float: return _Box(.leaf(_primitive(v)))
    case let v as Int: return _Box(.leaf(_primitive(v)))
    case let v as String: return _Box(.leaf(_primitive(v)))
    case let v as Bool: return _Box(.leaf(_primitive(v)))
    default:
        let box = _Box()
        try value.encode(to: _Encoder(box: box, options: options, codingPath: codingPath))
        return box
    }
}

private struct _Encoder: Encoder {
    let box: _Box
    let options: JSONValueEncoder
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: _Object
        if case .object(let o) = box.storage { object = o } else { object = _Object(); box.storage = .object(object) }
        return KeyedEncodingContainer(_Keyed<Key>(object: object, options: options, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        let array: _Array
        if case .array(let a) = box.storage { array = a } else { array = _Array(); box.storage = .array(array) }
        return _Unkeyed(array: array, options: options, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        _Single(box: box, options: options, codingPath: codingPath)
    }
}

private struct _Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: _Object
    let options: JSONValueEncoder
    var codingPath: [CodingKey]

    mutating func encodeNil(forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(.null))) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.set(key.stringValue, try _encode(value, options: options, codingPath: codingPath + [key]))
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: String, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Double, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Float, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { object.set(key.stringValue, _Box(.leaf(_primitive(value)))) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try putIfPresent(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try putIfPresent(value, key) }

    private mutating func putIfPresent<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else if options.nilEncoding == .null { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        _Encoder(box: child(key), options: options, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        _Encoder(box: child(key), options: options, codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> Encoder { superEncoder(forKey: Key(stringValue: "super")!) }
    mutating func superEncoder(forKey key: Key) -> Encoder {
        _Encoder(box: child(key), options: options, codingPath: codingPath + [key])
    }
    private func child(_ key: Key) -> _Box {
        let box = _Box()
        object.set(key.stringValue, box)
        return box
    }
}

private struct _Unkeyed: UnkeyedEncodingContainer {
    let array: _Array
    let options: JSONValueEncoder
    var codingPath: [CodingKey]
    var count: Int { array.items.count }

    mutating func encodeNil() throws { array.append(_Box(.leaf(.null))) }
    mutating func encode<T: Encodable>(_ value: T) throws { array.append(try _encode(value, options: options, codingPath: codingPath)) }
    mutating func encode(_ value: Bool) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: String) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Double) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Float) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int8) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int16) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int32) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: Int64) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt8) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt16) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt32) throws { array.append(_Box(.leaf(_primitive(value)))) }
    mutating func encode(_ value: UInt64) throws { array.append(_Box(.leaf(_primitive(value)))) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        _Encoder(box: child(), options: options, codingPath: codingPath).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        _Encoder(box: child(), options: options, codingPath: codingPath).unkeyedContainer()
    }
    mutating func superEncoder() -> Encoder { _Encoder(box: child(), options: options, codingPath: codingPath) }
    private func child() -> _Box {
        let box = _Box()
        array.append(box)
        return box
    }
}

private struct _Single: SingleValueEncodingContainer {
    let box: _Box
    let options: JSONValueEncoder
    var codingPath: [CodingKey]

    mutating func encodeNil() throws { box.storage = .leaf(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        box.storage = try _encode(value, options: options, codingPath: codingPath).storage
    }
    mutating func encode(_ value: Bool) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: String) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: Double) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: Float) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: Int) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: Int8) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: Int16) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: Int32) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: Int64) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: UInt) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: UInt8) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: UInt16) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: UInt32) throws { box.storage = .leaf(_primitive(value)) }
    mutating func encode(_ value: UInt64) throws { box.storage = .leaf(_primitive(value)) }
}
