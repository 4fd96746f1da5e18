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

    /// Streaming SHA-256 state. A failing libcrypto call here is a broken installation, not bad
    /// input, so it stops the program (precondition) with the call's error.
    public final class Hasher {
        private let ctx: DigestContext

        public init() {
            ctx = Hasher.must { let c = try DigestContext(); try c.initSHA256(); return c }
        }

        public func update(_ data: Data) {
            data.withUnsafeBytes { raw in Hasher.must { try ctx.update(raw) } }
        }

        public func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { raw in Hasher.must { try ctx.update(raw) } }
        }

        /// The digest as 64 lowercase hex characters. The hasher must not be used afterwards.
        public func finalizeHex() -> String {
            let digest = Hasher.must { try ctx.final() }
            precondition(digest.count == 32, "SHA-256 gave \(digest.count) bytes")
            return Hex.encode(digest)
        }

        private static func must<T>(_ body: () throws -> T) -> T {
            do { return try body() } catch { preconditionFailure("SHA-256: \(error)") }
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
