import Foundation
import Hashing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private key that signs audit records and heads (Ed25519; see ``AuditChain`` for what a
/// record's signature covers and ``AuditHead`` for a head's).
///
/// The key id (``keyID``) is the first 16 hex digits of SHA-256 of the 32-byte public key; it
/// is what a record's `signedBy` holds. Nothing here ever writes key material into a record,
/// a head or an error message. Safe to share between threads.
public final class AuditSigner: Sendable {
    /// 16 hex digits naming the key (``Ed25519/PublicKey/keyID``).
    public let keyID: String
    public let publicKey: Ed25519.PublicKey
    private let key: Ed25519.PrivateKey

    public init(key: Ed25519.PrivateKey) {
        self.key = key
        publicKey = key.publicKey
        keyID = key.publicKey.keyID
    }

    /// Reads a PEM (PKCS#8) Ed25519 private key file, as `stnreg audit keygen` writes it.
    public static func load(path: String) throws -> AuditSigner {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw AuditLogError(path: path, problem: exists ? "cannot read the signing key (check its permissions)"
                                                            : "no such signing key; make one with `stnreg audit keygen \(path)`")
        }
        let bytes = [UInt8](data)
        if String(decoding: bytes, as: UTF8.self).contains("-----BEGIN PUBLIC KEY-----") {
            throw AuditLogError(path: path, problem: "this is a public key; a signing key is the private key file (the one without .pub)")
        }
        do {
            return AuditSigner(key: try Ed25519.PrivateKey(pem: bytes))
        } catch let e as Ed25519.KeyError {
            throw AuditLogError(path: path, problem: e.problem)
        }
    }

    /// The signature (128 hex digits) of the record whose hash is `recordHash`.
    public func signature(recordHash: String) throws -> String {
        try sign(AuditChain.signedMessage(recordHash: recordHash))
    }

    /// The signature of `message`, hex.
    public func sign(_ message: [UInt8]) throws -> String {
        Hex.encode(try key.sign(message))
    }
}

/// The public keys `audit verify` trusts, by key id.
public struct AuditTrustedKeys: Sendable {
    public var byID: [String: Ed25519.PublicKey]

    public init(_ keys: [Ed25519.PublicKey]) {
        var m: [String: Ed25519.PublicKey] = [:]
        for k in keys { m[k.keyID] = k }
        byID = m
    }

    /// Reads a file of one or more PEM public keys (`-----BEGIN PUBLIC KEY-----` blocks, e.g.
    /// several `.pub` files joined with `cat`). Text outside the blocks is ignored.
    public static func load(path: String) throws -> AuditTrustedKeys {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw AuditLogError(path: path, problem: exists ? "cannot read the trusted keys (check the file's permissions)"
                                                            : "no such trusted-keys file; give a file of public keys (.pub files written by `stnreg audit keygen`, joined with cat)")
        }
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("PRIVATE KEY-----") {
            throw AuditLogError(path: path, problem: "holds a private key; a trusted-keys file holds only public keys (the .pub files), so remove the private key from it and keep that file to its owner")
        }
        var keys: [Ed25519.PublicKey] = []
        var rest = Substring(text)
        let begin = "-----BEGIN PUBLIC KEY-----", end = "-----END PUBLIC KEY-----"
        while let b = rest.range(of: begin) {
            guard let e = rest.range(of: end, range: b.upperBound..<rest.endIndex) else {
                throw AuditLogError(path: path, problem: "public key \(keys.count + 1) has no '\(end)' line (the file is cut short?)")
            }
            do {
                keys.append(try Ed25519.PublicKey(pem: Array((rest[b.lowerBound..<e.upperBound] + "\n").utf8)))
            } catch let err as Ed25519.KeyError {
                throw AuditLogError(path: path, problem: "public key \(keys.count + 1): \(err.problem)")
            }
            rest = rest[e.upperBound...]
        }
        guard !keys.isEmpty else {
            throw AuditLogError(path: path, problem: "holds no public key (no '\(begin)' line); give the .pub files written by `stnreg audit keygen`")
        }
        return AuditTrustedKeys(keys)
    }
}

/// Writing a new key pair.
public enum AuditKeyFiles {
    /// Writes a new Ed25519 key pair: the private key (PKCS#8 PEM) to `privateKeyPath`, created
    /// with mode 0600, and the public key (a `# …` comment line naming the key id, then
    /// SubjectPublicKeyInfo PEM) to `publicKeyPath`. Never overwrites: throws when either file
    /// exists, and leaves neither behind when it fails. Returns the key id.
    @discardableResult
    public static func generate(privateKeyPath: String, publicKeyPath: String) throws -> String {
        for p in [privateKeyPath, publicKeyPath] where FileManager.default.fileExists(atPath: p) {
            throw AuditLogError(path: p, problem: "already exists; keys are never overwritten, so choose another name or move the old key aside")
        }
        let key: Ed25519.PrivateKey
        let privatePEM: [UInt8], publicPEM: [UInt8]
        do {
            key = try Ed25519.PrivateKey.generate()
            privatePEM = try key.pem()
            publicPEM = try key.publicKey.pem()
        } catch {
            throw AuditLogError(path: privateKeyPath, problem: "cannot generate a key: \(error)")
        }
        let id = key.publicKey.keyID
        try writeNew(privatePEM, to: privateKeyPath, mode: 0o600)
        do {
            try writeNew(Array("# stnreg audit public key, key id \(id)\n".utf8) + publicPEM, to: publicKeyPath, mode: 0o644)
        } catch {
            unlink(privateKeyPath)
            throw error
        }
        return id
    }

    /// Creates `path` (`O_EXCL`: fails when it exists) with `mode` (set again with `fchmod`, so
    /// the umask cannot widen it), writes `bytes` and flushes them.
    static func writeNew(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            let why = errno == EEXIST ? "already exists; keys are never overwritten" : String(cString: strerror(errno))
            throw AuditLogError(path: path, problem: "cannot create the key file: \(why) (does the folder exist and is it writable?)")
        }
        var failure: String? = nil
        if fchmod(fd, mode) != 0 { failure = "cannot set its mode: \(String(cString: strerror(errno)))" }
        if failure == nil {
            bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failure = "cannot write it: \(String(cString: strerror(errno)))"
                        return
                    }
                    done += n
                }
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "cannot flush it: \(String(cString: strerror(errno)))" }
        close(fd)
        if let failure {
            unlink(path)
            throw AuditLogError(path: path, problem: failure)
        }
    }
}

/// Where the signing key comes from when a command signs what it appends.
///
/// Precedence, first found wins:
/// 1. the command's `--signing-key FILE`;
/// 2. the environment variable `STNREG_SIGNING_KEY` (a path; empty counts as unset);
/// 3. the config file's `"signingKey"`: `$STNREG_CONFIG` if set (then it must exist), else
///    `$XDG_CONFIG_HOME/stnreg/config.json`, else `$HOME/.config/stnreg/config.json` (used only
///    when it exists). The file is one JSON object; `signingKey` is a path, relative to the
///    config file's folder or starting with `~/`. No other member is allowed.
/// No key found: records are appended unsigned.
public enum AuditSigningConfig {
    public static let keyVariable = "STNREG_SIGNING_KEY"
    public static let configVariable = "STNREG_CONFIG"

    /// Where a key path came from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case flag
        case environment
        case config(String)

        public var description: String {
            switch self {
            case .flag: return "--signing-key"
            case .environment: return "$\(AuditSigningConfig.keyVariable)"
            case .config(let p): return p
            }
        }
    }

    /// The config file to read, or nil when there is none.
    public static func configPath(environment: [String: String]) -> (path: String, required: Bool)? {
        if let p = environment[configVariable], !p.isEmpty { return (p, true) }
        let base: String
        if let x = environment["XDG_CONFIG_HOME"], !x.isEmpty { base = x }
        else if let h = environment["HOME"], !h.isEmpty { base = h + "/.config" }
        else { return nil }
        return (base + "/stnreg/config.json", false)
    }

    /// The signing key's path and where it came from (nil: sign nothing).
    public static func signingKeyPath(flag: String?, environment: [String: String]) throws -> (path: String, source: Source)? {
        if let flag { return (flag, .flag) }
        if let e = environment[keyVariable], !e.isEmpty { return (e, .environment) }
        guard let (config, required) = configPath(environment: environment) else { return nil }
        guard let data = FileManager.default.contents(atPath: config) else {
            if !required && !FileManager.default.fileExists(atPath: config) { return nil }
            throw AuditLogError(path: config, problem: FileManager.default.fileExists(atPath: config)
                                ? "cannot read the config file (check its permissions)"
                                : "no such config file (named by $\(configVariable)); create it or unset the variable")
        }
        let value: AuditValue
        do { value = try JSONLineParser.parse([UInt8](data)) } catch {
            throw AuditLogError(path: config, problem: "not valid JSON (\(error)); the config file is one object such as {\"signingKey\": \"~/.config/stnreg/audit.key\"}")
        }
        guard let o = value.object else {
            throw AuditLogError(path: config, problem: "must be a JSON object such as {\"signingKey\": \"~/.config/stnreg/audit.key\"}")
        }
        if let unknown = o.keys.sorted().first(where: { $0 != "signingKey" }) {
            throw AuditLogError(path: config, problem: "unknown member '\(unknown)'; the only member is 'signingKey' (the path of the private key)")
        }
        guard let member = o["signingKey"] else { return nil }
        guard let p = member.string, !p.isEmpty else {
            throw AuditLogError(path: config, problem: "'signingKey' must be the path of the private key, as a string")
        }
        var path = p
        if path.hasPrefix("~/"), let home = environment["HOME"] { path = home + path.dropFirst(1) }
        else if !path.hasPrefix("/") { path = URL(fileURLWithPath: config).deletingLastPathComponent().path + "/" + path }
        return (path, .config(config))
    }

    /// The signer the precedence picks, loaded (nil: sign nothing).
    public static func signer(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AuditSigner? {
        guard let (path, source) = try signingKeyPath(flag: flag, environment: environment) else { return nil }
        do {
            return try AuditSigner.load(path: path)
        } catch var e as AuditLogError {
            if source != .flag { e.problem += " (the signing key named by \(source))" }
            throw e
        }
    }
}
