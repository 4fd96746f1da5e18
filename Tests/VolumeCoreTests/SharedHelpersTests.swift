import Foundation
import Testing
import VolumeCore

/// The shared helpers VolumeCore re-exports: the one parallel map and the UTC time stamps.
struct SharedHelpersTests {
    @Test(arguments: [1, 2, 3, 8])
    func parallelMapEqualsMapForAnyThreadCount(threads: Int) {
        for count in [0, 1, 2, 7, 64, 1000] {
            let expected = (0..<count).map { $0 * $0 + 3 }
            #expect(parallelMap(count, threads: threads) { $0 * $0 + 3 } == expected, "count \(count)")
        }
    }

    @Test func utcTimeHasTwoNamedPrecisions() {
        let date = Date(timeIntervalSince1970: 1_795_631_097.125)   // 2026-11-25T18:24:57.125Z (exact in binary)
        #expect(UTCTime.string(.seconds, at: date) == "2026-11-25T18:24:57Z")
        #expect(UTCTime.string(.milliseconds, at: date) == "2026-11-25T18:24:57.125Z")
    }

    @Test func stableJSONSortsKeysAndKeepsSlashes() throws {
        struct Value: Encodable { var b = "a/b"; var a = [1, 2] }
        #expect(String(decoding: try StableJSON.encode(Value(), pretty: false), as: UTF8.self) == #"{"a":[1,2],"b":"a/b"}"#)
        #expect(String(decoding: try StableJSON.encode(Value()), as: UTF8.self) == "{\n  \"a\" : [\n    1,\n    2\n  ],\n  \"b\" : \"a/b\"\n}")
    }
}
