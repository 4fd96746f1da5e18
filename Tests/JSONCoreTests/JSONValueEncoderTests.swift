import JSONCore
import Testing

/// Codable → JSONValue: the numbers the canonical hash needs, and the two nil policies.
struct JSONValueEncoderTests {
    struct Inner: Encodable { var x: Double; var label: String? }
    struct Outer: Encodable {
        var n: Int
        var big: UInt64
        var values: [Double]
        var inner: Inner
        var byName: [String: Int]
    }

    @Test func integersStayExactAndNonFiniteIsNull() throws {
        let v = try JSONValueEncoder().encode(Outer(n: -3, big: .max, values: [1, 0.5, .infinity, 1e16],
                                                     inner: .init(x: 2, label: nil), byName: ["a": 1]))
        #expect(v == ["n": .int(-3), "big": .double(18446744073709551615), "values": [.int(1), .double(0.5), .null, .double(1e16)],
                      "inner": ["x": .int(2), "label": .null], "byName": ["a": .int(1)]])
    }

    @Test func omitLeavesAbsentOptionalsOut() throws {
        #expect(try JSONValueEncoder(nilEncoding: .omit).encode(Inner(x: 0.25, label: nil)) == ["x": .double(0.25)])
    }

    /// A type that encodes another into its own members (how a record embeds a shared part).
    @Test func twoKeyedContainersOfOneEncoderMakeOneObject() throws {
        struct Flat: Encodable {
            enum K: CodingKey { case role }
            func encode(to encoder: Encoder) throws {
                try Inner(x: 1, label: "a").encode(to: encoder)
                var c = encoder.container(keyedBy: K.self)
                try c.encode("scan", forKey: .role)
            }
        }
        #expect(try JSONValueEncoder().encode(Flat()) == ["x": .int(1), "label": "a", "role": "scan"])
    }
}
