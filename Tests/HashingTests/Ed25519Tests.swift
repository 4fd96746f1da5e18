import Foundation
import Hashing
import Testing
import TestSupport

/// Keys are generated at test time; no key material is committed.
struct Ed25519Tests {
    // RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
    static let rfcKey1 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    static let rfcSig1 = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    static let rfcKey2 = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
    static let rfcSig2 = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"

    @Test func rfc8032VectorsVerifyAndAFlippedBitDoesNot() throws {
        let k1 = try Ed25519.PublicKey(raw: Hex.decode(Self.rfcKey1)!)
        #expect(k1.isValidSignature(Hex.decode(Self.rfcSig1)!, for: []))
        let k2 = try Ed25519.PublicKey(raw: Hex.decode(Self.rfcKey2)!)
        #expect(k2.isValidSignature(Hex.decode(Self.rfcSig2)!, for: [0x72]))
        var bad = Hex.decode(Self.rfcSig2)!
        bad[10] ^= 0x01
        #expect(!k2.isValidSignature(bad, for: [0x72]))
        #expect(!k2.isValidSignature(Hex.decode(Self.rfcSig2)!, for: [0x73]))
        #expect(!k1.isValidSignature(Hex.decode(Self.rfcSig2)!, for: [0x72]))   // another key's signature
        #expect(!k2.isValidSignature(Array(Hex.decode(Self.rfcSig2)!.prefix(63)), for: [0x72]))
    }

    @Test func generatedKeysSignAndVerifyAndRoundTripThroughPEM() throws {
        let key = try Ed25519.PrivateKey.generate()
        let message = Array("stnreg".utf8)
        let sig = try key.sign(message)
        #expect(sig.count == 64)
        #expect(try key.sign(message) == sig)   // deterministic
        #expect(key.publicKey.isValidSignature(sig, for: message))
        let pem = try key.pem()
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let again = try Ed25519.PrivateKey(pem: pem)
        #expect(again.publicKey == key.publicKey)
        let pub = try key.publicKey.pem()
        #expect(String(decoding: pub, as: UTF8.self).hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        #expect(try Ed25519.PublicKey(pem: pub) == key.publicKey)
        let other = try Ed25519.PrivateKey.generate()
        #expect(other.publicKey != key.publicKey)
        #expect(!other.publicKey.isValidSignature(sig, for: message))
    }

    @Test func theKeyIDIsTheStartOfSHA256OfTheRawKey() throws {
        let k = try Ed25519.PublicKey(raw: Hex.decode(Self.rfcKey1)!)
        #expect(k.keyID == String(SHA256.hex(Data(Hex.decode(Self.rfcKey1)!)).prefix(16)))
        #expect(k.keyID.count == 16)
    }

    /// openssl's own command line reads our key files and checks our signatures (an independent
    /// implementation of the same formats), and we read its keys.
    @Test func opensslReadsOurKeysAndSignaturesAndWeReadItsKeys() throws {
        let dir = makeTemporaryDirectory()
        let key = try Ed25519.PrivateKey.generate()
        let message = Array("stnreg-audit-record-v1\n".utf8) + Array(String(repeating: "ab", count: 32).utf8)
        try Data(try key.publicKey.pem()).write(to: URL(fileURLWithPath: dir + "/k.pub"))
        try Data(message).write(to: URL(fileURLWithPath: dir + "/msg"))
        try Data(try key.sign(message)).write(to: URL(fileURLWithPath: dir + "/sig"))
        let ok = try openssl(["pkeyutl", "-verify", "-pubin", "-inkey", dir + "/k.pub", "-rawin", "-in", dir + "/msg", "-sigfile", dir + "/sig"])
        #expect(ok.status == 0 && ok.out.contains("Signature Verified Successfully"), "\(ok)")
        try Data(message + [0x0A]).write(to: URL(fileURLWithPath: dir + "/msg2"))
        let bad = try openssl(["pkeyutl", "-verify", "-pubin", "-inkey", dir + "/k.pub", "-rawin", "-in", dir + "/msg2", "-sigfile", dir + "/sig"])
        #expect(bad.status != 0)

        let gen = try openssl(["genpkey", "-algorithm", "ed25519", "-out", dir + "/theirs.key"])
        #expect(gen.status == 0)
        let theirs = try Ed25519.PrivateKey(pem: [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/theirs.key"))))
        let pubOut = try openssl(["pkey", "-in", dir + "/theirs.key", "-pubout"])
        #expect(try Ed25519.PublicKey(pem: Array(pubOut.out.utf8)) == theirs.publicKey)
    }

    @Test func otherKeyTypesEncryptedKeysAndGarbageAreRefusedWithoutKeyMaterialInTheMessage() throws {
        let dir = makeTemporaryDirectory()
        _ = try openssl(["genpkey", "-algorithm", "x25519", "-out", dir + "/x.key"])
        let x = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/x.key")))
        #expect { try Ed25519.PrivateKey(pem: x) } throws: { e in
            (e as? Ed25519.KeyError)?.problem == "the private key is not an Ed25519 key; make one with `stnreg audit keygen`"
        }
        _ = try openssl(["genpkey", "-algorithm", "ed25519", "-aes256", "-pass", "pass:secret", "-out", dir + "/enc.key"])
        let enc = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/enc.key")))
        #expect { try Ed25519.PrivateKey(pem: enc) } throws: { e in
            String(describing: e).hasPrefix("the private key is encrypted")
        }
        #expect(throws: Ed25519.KeyError.self) { try Ed25519.PrivateKey(pem: Array("hello".utf8)) }
        #expect(throws: Ed25519.KeyError.self) { try Ed25519.PublicKey(raw: [1, 2, 3]) }
        // A damaged PEM body: the message names the problem, not the bytes.
        var pem = String(decoding: try Ed25519.PrivateKey.generate().pem(), as: UTF8.self)
        let body = pem.split(separator: "\n")[1]
        pem = pem.replacingOccurrences(of: body, with: "AAAA" + body.dropFirst(4))
        do { _ = try Ed25519.PrivateKey(pem: Array(pem.utf8)); Issue.record("expected an error") } catch {
            #expect(!String(describing: error).contains(String(body.dropFirst(4))))
        }
    }

    @Test func hexRoundTrips() {
        #expect(Hex.encode([0, 1, 0xab, 0xff]) == "0001abff")
        #expect(Hex.decode("0001ABff") == [0, 1, 0xab, 0xff])
        #expect(Hex.decode("abc") == nil && Hex.decode("zz") == nil)
    }

    func openssl(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
