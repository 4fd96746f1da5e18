import Foundation

/// The one JSON encoder setup of the project for files people and other tools read
/// (transform records, protocols, model headers, command output): keys sorted, `/` not
/// escaped, pretty-printed unless asked otherwise. The same value always gives the same bytes.
///
/// Audit records are not written with it: their hash is over ``CanonicalJSON``'s encoding.
public enum StableJSON {
    /// A `JSONEncoder` with sorted keys, unescaped slashes and (when `pretty`) indentation.
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// `value` encoded by ``encoder(pretty:)``.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
        try encoder(pretty: pretty).encode(value)
    }
}
