/// Ed25519 signatures (RFC 8032) through OpenSSL's libcrypto.
///
/// Key files are PEM: a private key as unencrypted PKCS#8 (`-----BEGIN PRIVATE KEY-----`), a
/// public key as SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`), the forms `openssl
/// genpkey -algorithm ed25519` and `openssl pkey -pubout` write. A signature is 64 bytes; a raw
/// public key 32. Signing is deterministic (the same key and message give the same signature).
public enum Ed25519 {
    public static let signatureByteCount = 64
    public static let publicKeyByteCount = 32

    /// A key file or key bytes that are not a usable Ed25519 key. The message never holds key
    /// material.
    public struct KeyError: Error, Equatable, Sendable, CustomStringConvertible {
        public var problem: String
        public init(_ problem: String) { self.problem = problem }
        public var description: String { problem }
    }

    /// A private (signing) key. Its bytes never leave libcrypto except as PEM through
    /// ``pem()``. Safe to use from several threads at once.
    public final class PrivateKey: Sendable {
        private let key: PKeyHandle
        /// The matching public key.
        public let publicKey: PublicKey

        private init(_ key: PKeyHandle) throws {
            self.key = key
            publicKey = try PublicKey(raw: try key.rawPublicKey())
        }

        /// A new random key (libcrypto's generator).
        public static func generate() throws -> PrivateKey {
            try PrivateKey(try PKeyHandle.generate(id: LibCrypto.ed25519ID))
        }

        /// Reads a PEM private key (PKCS#8). Throws ``KeyError`` for an encrypted key, another
        /// key type or text that is not a PEM private key.
        public convenience init(pem: [UInt8]) throws {
            let text = String(decoding: pem, as: UTF8.self)
            if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
                throw KeyError("the private key is encrypted; stnreg reads unencrypted PKCS#8 keys (decrypt a copy with `openssl pkey -in KEY -out PLAIN`, mode 0600)")
            }
            guard text.contains("-----BEGIN PRIVATE KEY-----") else {
                throw KeyError("not a PEM private key (no '-----BEGIN PRIVATE KEY-----' line); make one with `stnreg audit keygen`")
            }
            let handle: PKeyHandle
            do {
                handle = try PKeyHandle.readPrivatePEM(try MemoryBIO(pem))
            } catch let e as CryptoError {
                throw KeyError("the PEM private key cannot be read (\(e.reason))")
            }
            guard handle.typeID == LibCrypto.ed25519ID else {
                throw KeyError("the private key is not an Ed25519 key; make one with `stnreg audit keygen`")
            }
            try self.init(handle)
        }

        /// The key as unencrypted PKCS#8 PEM text. Write it only to a file of mode 0600.
        public func pem() throws -> [UInt8] {
            let bio = try MemoryBIO()
            try key.writePrivatePEM(bio)
            return try bio.readAll()
        }

        /// The 64-byte signature of `message`.
        public func sign(_ message: [UInt8]) throws -> [UInt8] {
            let ctx = try DigestContext()
            try ctx.initSign(key)
            let sig = try ctx.sign(message, maxLength: Ed25519.signatureByteCount)
            guard sig.count == Ed25519.signatureByteCount else {
                throw CryptoError(function: "EVP_DigestSign", reason: "gave \(sig.count) bytes, expected 64")
            }
            return sig
        }
    }

    /// A public (verifying) key. Safe to use from several threads at once.
    public final class PublicKey: Sendable, Equatable, Hashable {
        private let key: PKeyHandle
        /// The 32 raw key bytes (RFC 8032 encoding).
        public let raw: [UInt8]

        /// A key from its 32 raw bytes.
        public init(raw: [UInt8]) throws {
            guard raw.count == Ed25519.publicKeyByteCount else {
                throw KeyError("an Ed25519 public key has 32 bytes, not \(raw.count)")
            }
            do {
                key = try PKeyHandle.rawPublic(id: LibCrypto.ed25519ID, raw)
            } catch let e as CryptoError {
                throw KeyError("not an Ed25519 public key (\(e.reason))")
            }
            self.raw = raw
        }

        /// Reads one PEM public key (SubjectPublicKeyInfo).
        public convenience init(pem: [UInt8]) throws {
            let handle: PKeyHandle
            do {
                handle = try PKeyHandle.readPublicPEM(try MemoryBIO(pem))
            } catch let e as CryptoError {
                throw KeyError("the PEM public key cannot be read (\(e.reason))")
            }
            guard handle.typeID == LibCrypto.ed25519ID else {
                throw KeyError("the public key is not an Ed25519 key")
            }
            try self.init(raw: try handle.rawPublicKey())
        }

        /// The key as PEM text (`-----BEGIN PUBLIC KEY-----`).
        public func pem() throws -> [UInt8] {
            let bio = try MemoryBIO()
            try key.writePublicPEM(bio)
            return try bio.readAll()
        }

        /// The key id: the first 16 hex digits of SHA-256 of the 32 raw key bytes.
        public var keyID: String {
            let h = SHA256.Hasher()
            h.update(raw)
            return String(h.finalizeHex().prefix(16))
        }

        /// True when `signature` is this key's signature of `message`. False for any other
        /// signature, including one of the wrong length.
        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard signature.count == Ed25519.signatureByteCount, let ctx = try? DigestContext(),
                  (try? ctx.initVerify(key)) != nil else { return false }
            return ctx.verify(signature: signature, message: message)
        }

        public static func == (a: PublicKey, b: PublicKey) -> Bool { a.raw == b.raw }
        public func hash(into h: inout Hasher) { h.combine(raw) }
    }
}
