import Foundation

/// The `stnreg` executable built beside the test bundle (or `$STNREG_BINARY`), or nil.
public func locateBuiltStnreg() -> String? {
    if let p = ProcessInfo.processInfo.environment["STNREG_BINARY"] { return p }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: me).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("stnreg").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// Runs the `stnreg` executable built beside the test bundle (or `$STNREG_BINARY`) and returns
/// (exit status, standard output, standard error). `environment` is added to this process's.
public func runBuiltStnreg(_ arguments: [String], currentDirectory: String? = nil,
                           environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    guard let binary = locateBuiltStnreg() else {
        throw NSError(domain: "stnreg-tests", code: 1, userInfo: [NSLocalizedDescriptionKey: "no stnreg executable beside the test bundle; run `swift build` first or set STNREG_BINARY"])
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = arguments
    if let d = currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: d) }
    if !environment.isEmpty {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The SHA-256 of a file (lowercase hex) by coreutils' `sha256sum`: a reference independent
/// of the Hashing module, for exact-value checks of recorded hashes.
public func referenceSHA256(ofFile path: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    guard p.terminationStatus == 0, let hex = text.split(separator: " ").first, hex.count == 64 else {
        throw NSError(domain: "stnreg-tests", code: 2, userInfo: [NSLocalizedDescriptionKey: "sha256sum \(path) failed: \(text)"])
    }
    return String(hex)
}
