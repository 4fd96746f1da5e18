import AuditLog
import Hashing
import Testing

@Suite struct CanonicalJSONTests {
    @Test func keysAreSortedByUTF8BytesWithoutWhitespace() {
        let v: AuditValue = ["b": 1, "a": ["z": true, "Z": false, "é": nil, "aa": [1, 2]]]
        #expect(CanonicalJSON.string(v) == #"{"a":{"Z":false,"aa":[1,2],"z":true,"é":null},"b":1}"#)
    }

    @Test(arguments: [
        (AuditValue.int(0), "0"), (.int(-42), "-42"), (.int(Int64.max), "9223372036854775807"),
        (.double(1.0), "1"), (.double(-0.0), "0"), (.double(0.1), "0.1"), (.double(-2.5e-05), "-2.5e-05"),
        (.double(1.5e300), "1.5e+300"), (.double(9007199254740992), "9007199254740992.0"), (.double(1e16), "1e+16"),
        (.double(0.30000000000000004), "0.30000000000000004"), (.double(.nan), "null"), (.double(.infinity), "null"),
    ])
    func numbersHaveOneSpelling(_ value: AuditValue, _ text: String) {
        #expect(CanonicalJSON.string(value) == text)
    }

    @Test func stringsAreEscapedOneWay() {
        let s = "q\"b\\/ \u{08}\u{0C}\n\r\t\u{01}\u{1F} é 😀"
        #expect(CanonicalJSON.string(.string(s)) == "\"q\\\"b\\\\/ \\b\\f\\n\\r\\t\\u0001\\u001f é 😀\"")
    }

    @Test func parsedTextReEncodesToTheSameCanonicalBytes() throws {
        let text = #"{ "z" : [1.0, 1e0, -0.0, 0.1, 2.5E-5, "\u00e9\/\ud83d\ude00"], "a": {"y": null, "x": false} }"#
        let v = try JSONLineParser.parse(text)
        let canonical = CanonicalJSON.string(v)
        #expect(canonical == #"{"a":{"x":false,"y":null},"z":[1,1,0,0.1,2.5e-05,"é/😀"]}"#)
        #expect(CanonicalJSON.string(try JSONLineParser.parse(canonical)) == canonical)
    }

    @Test func randomTreesRoundTrip() throws {
        var state: UInt64 = 12345
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 11 }
        func tree(_ depth: Int) -> AuditValue {
            switch next() % (depth > 3 ? 5 : 7) {
            case 0: return .int(Int64(bitPattern: next() << 11) / 3)
            case 1: return .double(Double(bitPattern: next() << 11 | 0x3000_0000_0000_0000))
            case 2: return .string(String((0..<Int(next() % 8)).map { _ in Character(Unicode.Scalar(UInt8(next() % 128))) }))
            case 3: return .bool(next() % 2 == 0)
            case 4: return .null
            case 5: return .array((0..<Int(next() % 4)).map { _ in tree(depth + 1) })
            default:
                var o: [String: AuditValue] = [:]
                for _ in 0..<Int(next() % 4) { o["k\(next() % 100)"] = tree(depth + 1) }
                return .object(o)
            }
        }
        for _ in 0..<500 {
            let v = tree(0)
            let bytes = CanonicalJSON.encode(v)
            #expect(CanonicalJSON.encode(try JSONLineParser.parse(bytes)) == bytes)
        }
    }

    @Test func aRecordsHashIsPinned() {
        // Golden: changing the encoding rules changes every hash in every log; do it on purpose only.
        let sealed = AuditChain.seal(["id": "x", "n": 1, "v": 0.5, "s": "a\"b"], prev: AuditChain.genesis)
        let line = String(decoding: sealed.line, as: UTF8.self)
        let body = #"{"id":"x","n":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","s":"a\"b","v":0.5}"#
        #expect(sealed.hash == SHA256.hex(body))
        #expect(line == #"{"hash":""# + sealed.hash + #"","id":"x","n":1,"prev":""# + AuditChain.genesis + #"","s":"a\"b","v":0.5}"#)
    }
}

@Suite struct JSONLineParserTests {
    @Test(arguments: [
        (#"{"a":1"#, "column 7: unexpected end of line inside an object (the line is cut short)"),
        (#"{"a":"x"#, "column 8: unterminated string (the line is cut short)"),
        (#"{"a":1,"a":2}"#, "column 8: key 'a' appears twice"),
        (#"{"a":01}"#, "column 7: expected ',' or '}' in an object"),
        (#"{"a":1} x"#, "column 9: unexpected text after the value"),
        (#"{"a":nul}"#, "column 6: expected null"),
    ])
    func errorsNameTheColumn(_ text: String, _ message: String) {
        #expect(throws: JSONLineParser.SyntaxError.self) { try JSONLineParser.parse(text) }
        do { _ = try JSONLineParser.parse(text) } catch { #expect(String(describing: error) == message) }
    }

    @Test func integersStayExactAndOtherNumbersAreDoubles() throws {
        let v = try JSONLineParser.parse("[9007199254740993, 1.5, 1e2, -7]")
        #expect(v == [.int(9007199254740993), .double(1.5), .double(100), .int(-7)])
    }
}
