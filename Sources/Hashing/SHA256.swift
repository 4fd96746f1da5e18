internal import CCrypto
import Foundation

/// SHA-256 digests (OpenSSL libcrypto's EVP API), as lowercase hex.
///
/// Used for input and output fingerprints in transform records and the audit chain.
public enum SHA256 {
    /// Errors reading a file to hash.
    public struct FileError: Error, CustomStringConvertible, Equatable {
        public var path: String
        public var reason: String
        public var description: String { "\(path): cannot hash: \(reason)" }
    }

    /// Streaming SHA-256 state.
    public final class Hasher {
        private let ctx: OpaquePointer

        public init() {
            guard let c = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
            ctx = c
            precondition(EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(sha256) failed")
        }

        deinit { EVP_MD_CTX_free(ctx) }

        public func update(_ data: Data) {
            data.withUnsafeBytes { raw in
                if let base = raw.baseAddress, raw.count > 0 {
                    precondition(EVP_DigestUpdate(ctx, base, raw.count) == 1, "EVP_DigestUpdate failed")
                }
            }
        }

        public func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress, raw.count > 0 {
                    precondition(EVP_DigestUpdate(ctx, base, raw.count) == 1, "EVP_DigestUpdate failed")
                }
            }
        }

        /// The digest as 64 lowercase hex characters. The hasher must not be used afterwards.
        public func finalizeHex() -> String {
            var out = [UInt8](repeating: 0, count: 32)
            var len: UInt32 = 0
            precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1 && len == 32, "EVP_DigestFinal_ex failed")
            return out.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// SHA-256 of `data` as hex.
    public static func hex(_ data: Data) -> String {
        let h = Hasher()
        h.update(data)
        return h.finalizeHex()
    }

    /// SHA-256 of a UTF-8 string as hex.
    public static func hex(_ string: String) -> String { hex(Data(string.utf8)) }

    /// SHA-256 of a file's bytes as hex, read in 1 MiB blocks.
    public static func hex(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError(path: path, reason: "cannot open the file")
        }
        defer { try? handle.close() }
        let h = Hasher()
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw FileError(path: path, reason: "read failed (\(error.localizedDescription))")
            }
            if chunk.isEmpty { break }
            h.update(chunk)
        }
        return h.finalizeHex()
    }
}
