import Foundation
import Hashing
import Testing
import TestSupport

struct SHA256Tests {
    // FIPS 180-2 test vectors.
    @Test func knownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func fileMatchesInMemoryAcrossBlockBoundaries() throws {
        let dir = makeTemporaryDirectory()
        let bytes = (0..<(3 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let path = dir + "/blob.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try SHA256.hex(ofFile: path) == SHA256.hex(Data(bytes)))
    }

    @Test func missingFileIsAnError() {
        #expect(throws: SHA256.FileError.self) { try SHA256.hex(ofFile: "/nonexistent/file") }
    }
}
