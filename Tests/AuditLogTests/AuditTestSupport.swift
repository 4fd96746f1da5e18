import Hashing
import TestSupport
import AuditLog
import Foundation

/// A fresh temporary folder per test.
func temporaryFolder(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "stnreg-audit-\(safe)-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A generic payload for record `n` (time increases with n).
func payload(_ n: Int, outputs: [(String, String)] = []) -> [String: AuditValue] {
    var p: [String: AuditValue] = [
        "id": .string(String(format: "rec-%05d", n)),
        "time": .string(String(format: "2026-11-25T10:%02d:%02d.000Z", (n / 60) % 60, n % 60)),
        "n": .int(Int64(n)), "value": .double(Double(n) * 0.1 + 0.05), "note": "plain \"quoted\" / text",
    ]
    if !outputs.isEmpty {
        p["outputs"] = .array(outputs.map { ["path": .string($0.0), "sha256": .string($0.1)] })
    }
    return p
}

/// Writes a log of `count` records through ``AuditLogFile/append(_:)``; returns its path.
@discardableResult
func makeLog(_ folder: String, count: Int, name: String = "audit.jsonl") throws -> String {
    let path = folder + "/" + name
    let log = AuditLogFile(path: path)
    for n in 0..<count { try log.append(payload(n)) }
    return path
}

/// The log's lines (without line ends).
func lines(_ path: String) -> [String] {
    let text = try! String(contentsOfFile: path, encoding: .utf8)
    return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLast().map { $0 }
}

func writeLines(_ lines: [String], to path: String) {
    try! Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
}

/// The problems as (line, kind) pairs.
func kinds(_ v: AuditVerification) -> [String] {
    v.problems.map { "\($0.line):\($0.kind.rawValue)" }
}

/// The `stnreg` executable built beside the test bundle (or `$STNREG_BINARY`).
func stnregBinary() throws -> String {
    if let p = locateBuiltStnreg() { return p }
    throw AuditLogError(path: CommandLine.arguments[0], problem: "no stnreg executable beside the test bundle; run `swift build` first or set STNREG_BINARY")
}

/// Runs stnreg with `arguments` (and `environment` added to this process's, without any
/// signing-key settings of its own); returns (exit status, stdout, stderr).
func runStnreg(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let p = try startStnreg(arguments, environment: environment)
    let out = p.out.fileHandleForReading.readDataToEndOfFile()
    let err = p.err.fileHandleForReading.readDataToEndOfFile()
    p.process.waitUntilExit()
    return (p.process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

func startStnreg(_ arguments: [String], environment: [String: String] = [:]) throws -> (process: Process, out: Pipe, err: Pipe) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try stnregBinary())
    p.arguments = arguments
    // The tests decide what is signed: no key or config file of the user running them.
    var env = ProcessInfo.processInfo.environment
    env["STNREG_SIGNING_KEY"] = nil
    env["STNREG_CONFIG"] = nil
    env["XDG_CONFIG_HOME"] = "/nonexistent/stnreg-test-config"
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    return (p, out, err)
}

/// A new signing key, generated for this test run (no key material is committed).
func testSigner() throws -> AuditSigner { AuditSigner(key: try Ed25519.PrivateKey.generate()) }

/// Trusted keys holding the public keys of `signers`.
func trusted(_ signers: AuditSigner...) -> AuditTrustedKeys { AuditTrustedKeys(signers.map(\.publicKey)) }

/// Writes a log of `count` records signed by `signer`; returns its path.
@discardableResult
func makeSignedLog(_ folder: String, count: Int, signer: AuditSigner, name: String = "audit.jsonl", first: Int = 0) throws -> String {
    let path = folder + "/" + name
    let log = AuditLogFile(path: path)
    for n in first..<(first + count) { try log.append(payload(n), signer: signer) }
    return path
}

/// The head of the log at `path` now, signed by `signer`, named `name` in reports.
func headOf(_ path: String, signer: AuditSigner?, name: String = "head.json") throws -> AuditExpectedHead {
    AuditExpectedHead(name: name, head: try AuditHead.of(log: path, signer: signer))
}

/// Re-chains `payloads` from genesis with recomputed hashes, as a forger would, signed by `signer` when given.
func rechain(_ payloads: [[String: AuditValue]], signer: AuditSigner?) throws -> [String] {
    var prev = AuditChain.genesis
    return try payloads.map { p in
        let s = try AuditChain.seal(p, prev: prev, signer: signer)
        prev = s.hash
        return String(decoding: s.line, as: UTF8.self)
    }
}
