internal import CCrypto
import Foundation

// The only file that calls libcrypto. Each C function is wrapped once here and its status is
// turned into a `CryptoError`; each C handle is owned by a final class that frees it in
// `deinit`. Raw pointers do not leave this file.

/// A libcrypto call failed: the call and OpenSSL's reasons (never key material).
public struct CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The libcrypto function that failed.
    public var function: String
    /// OpenSSL's error queue as text, or what was wrong with the result.
    public var reason: String

    public init(function: String, reason: String) {
        self.function = function
        self.reason = reason
    }

    public var description: String { "\(function) failed: \(reason)" }

    /// The error of `function`, with OpenSSL's queued reasons (the queue is emptied).
    static func fromQueue(_ function: String) -> CryptoError {
        CryptoError(function: function, reason: LibCrypto.drainErrors())
    }
}

enum LibCrypto {
    /// OpenSSL's queued errors of this thread as text; empties the queue.
    static func drainErrors() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            parts.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.isEmpty ? "no reason given" : parts.joined(separator: "; ")
    }

    static var ed25519ID: Int32 { EVP_PKEY_ED25519 }
}

/// Owns an `EVP_MD_CTX` (digest, sign and verify state).
final class DigestContext {
    private let ctx: OpaquePointer

    init() throws {
        guard let c = EVP_MD_CTX_new() else { throw CryptoError.fromQueue("EVP_MD_CTX_new") }
        ctx = c
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// `EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)`.
    func initSHA256() throws {
        guard EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else { throw CryptoError.fromQueue("EVP_DigestInit_ex(sha256)") }
    }

    /// `EVP_DigestUpdate`.
    func update(_ raw: UnsafeRawBufferPointer) throws {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        guard EVP_DigestUpdate(ctx, base, raw.count) == 1 else { throw CryptoError.fromQueue("EVP_DigestUpdate") }
    }

    /// `EVP_DigestFinal_ex`: the digest bytes.
    func final() throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        guard EVP_DigestFinal_ex(ctx, &out, &len) == 1 else { throw CryptoError.fromQueue("EVP_DigestFinal_ex") }
        return Array(out.prefix(Int(len)))
    }

    /// `EVP_DigestSignInit(ctx, NULL, NULL, NULL, key)` (no digest: Ed25519 hashes internally).
    func initSign(_ key: PKeyHandle) throws {
        guard EVP_DigestSignInit(ctx, nil, nil, nil, key.pkey) == 1 else { throw CryptoError.fromQueue("EVP_DigestSignInit") }
    }

    /// `EVP_DigestSign` (one shot): the signature of `message`.
    func sign(_ message: [UInt8], maxLength: Int) throws -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: maxLength)
        var len = maxLength
        let status = message.withUnsafeBufferPointer { m in EVP_DigestSign(ctx, &sig, &len, m.baseAddress, m.count) }
        guard status == 1 else { throw CryptoError.fromQueue("EVP_DigestSign") }
        return Array(sig.prefix(len))
    }

    /// `EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key)`.
    func initVerify(_ key: PKeyHandle) throws {
        guard EVP_DigestVerifyInit(ctx, nil, nil, nil, key.pkey) == 1 else { throw CryptoError.fromQueue("EVP_DigestVerifyInit") }
    }

    /// `EVP_DigestVerify` (one shot): true only for status 1 (0 = a wrong signature; any other
    /// status, e.g. a signature of the wrong length, counts as wrong too and its queued errors
    /// are dropped).
    func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        let status = signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in EVP_DigestVerify(ctx, s.baseAddress, s.count, m.baseAddress, m.count) }
        }
        if status != 1 { ERR_clear_error() }
        return status == 1
    }
}

/// Owns an `EVP_PKEY`. Read-only use (signing, verifying, exporting) from several threads at
/// once is safe in OpenSSL 3 as long as each thread has its own ``DigestContext``.
final class PKeyHandle: @unchecked Sendable {
    let pkey: OpaquePointer

    fileprivate init(_ pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// A new key of type `id` (`EVP_PKEY_CTX_new_id` + `EVP_PKEY_keygen_init` + `EVP_PKEY_keygen`).
    static func generate(id: Int32) throws -> PKeyHandle {
        let ctx = try KeyContext(id: id)
        return try ctx.generate()
    }

    /// `EVP_PKEY_new_raw_public_key(id, NULL, bytes, count)`.
    static func rawPublic(id: Int32, _ bytes: [UInt8]) throws -> PKeyHandle {
        guard let k = bytes.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(id, nil, $0.baseAddress, $0.count) }) else {
            throw CryptoError.fromQueue("EVP_PKEY_new_raw_public_key")
        }
        return PKeyHandle(k)
    }

    /// `PEM_read_bio_PrivateKey` with a passphrase callback that gives none (an encrypted key
    /// fails instead of prompting on the terminal).
    static func readPrivatePEM(_ bio: MemoryBIO) throws -> PKeyHandle {
        guard let k = PEM_read_bio_PrivateKey(bio.bio, nil, { _, _, _, _ in 0 }, nil) else {
            throw CryptoError.fromQueue("PEM_read_bio_PrivateKey")
        }
        return PKeyHandle(k)
    }

    /// `PEM_read_bio_PUBKEY` (SubjectPublicKeyInfo).
    static func readPublicPEM(_ bio: MemoryBIO) throws -> PKeyHandle {
        guard let k = PEM_read_bio_PUBKEY(bio.bio, nil, nil, nil) else { throw CryptoError.fromQueue("PEM_read_bio_PUBKEY") }
        return PKeyHandle(k)
    }

    /// `EVP_PKEY_get_id`: the key type (`EVP_PKEY_ED25519`, …).
    var typeID: Int32 { EVP_PKEY_get_id(pkey) }

    /// `EVP_PKEY_get_raw_public_key`.
    func rawPublicKey() throws -> [UInt8] {
        var len = 0
        guard EVP_PKEY_get_raw_public_key(pkey, nil, &len) == 1 else { throw CryptoError.fromQueue("EVP_PKEY_get_raw_public_key") }
        var out = [UInt8](repeating: 0, count: len)
        guard EVP_PKEY_get_raw_public_key(pkey, &out, &len) == 1 else { throw CryptoError.fromQueue("EVP_PKEY_get_raw_public_key") }
        return Array(out.prefix(len))
    }

    /// `PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)`: unencrypted PKCS#8.
    func writePrivatePEM(_ bio: MemoryBIO) throws {
        guard PEM_write_bio_PrivateKey(bio.bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw CryptoError.fromQueue("PEM_write_bio_PrivateKey")
        }
    }

    /// `PEM_write_bio_PUBKEY`: SubjectPublicKeyInfo.
    func writePublicPEM(_ bio: MemoryBIO) throws {
        guard PEM_write_bio_PUBKEY(bio.bio, pkey) == 1 else { throw CryptoError.fromQueue("PEM_write_bio_PUBKEY") }
    }

}

/// Owns an `EVP_PKEY_CTX` for key generation.
final class KeyContext {
    private let ctx: OpaquePointer

    /// `EVP_PKEY_CTX_new_id(id, NULL)`.
    init(id: Int32) throws {
        guard let c = EVP_PKEY_CTX_new_id(id, nil) else { throw CryptoError.fromQueue("EVP_PKEY_CTX_new_id") }
        ctx = c
    }

    deinit { EVP_PKEY_CTX_free(ctx) }

    /// `EVP_PKEY_keygen_init` then `EVP_PKEY_keygen`.
    func generate() throws -> PKeyHandle {
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw CryptoError.fromQueue("EVP_PKEY_keygen_init") }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen(ctx, &key) == 1, let key else { throw CryptoError.fromQueue("EVP_PKEY_keygen") }
        return PKeyHandle(key)
    }
}

/// Owns a memory `BIO` (`BIO_new(BIO_s_mem())`): PEM text in and out.
final class MemoryBIO {
    fileprivate let bio: OpaquePointer

    init() throws {
        guard let b = BIO_new(BIO_s_mem()) else { throw CryptoError.fromQueue("BIO_new") }
        bio = b
    }

    /// A BIO holding a copy of `bytes`.
    convenience init(_ bytes: [UInt8]) throws {
        try self.init()
        try write(bytes)
    }

    deinit { BIO_free(bio) }

    /// `BIO_write` (all of `bytes`).
    func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        let n = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        guard n == bytes.count else { throw CryptoError.fromQueue("BIO_write") }
    }

    /// `BIO_ctrl_pending` then `BIO_read`: everything written and not yet read.
    func readAll() throws -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(bio))
        guard pending > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: pending)
        let n = out.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(pending)) }
        guard n == pending else { throw CryptoError.fromQueue("BIO_read") }
        return out
    }
}
