import Foundation

/// Finds protocol files (and the files shipped beside them, such as the default model).
///
/// A name (`brain-affine`) is looked up as `Protocols/<name>.json` in, in order:
/// `$STNREG_PROTOCOLS`, then each folder above the running executable (so a build under
/// `.build/` in the repository finds the repository's `Protocols/`), then
/// `<prefix>/share/stnreg/Protocols` for an installed `<prefix>/bin/stnreg`.
/// Anything containing `/` or ending in `.json` is taken as a path.
public enum ProtocolLocator {
    /// Folders searched for shipped protocols, first match wins.
    public static func searchFolders() -> [String] {
        var out: [String] = []
        if let env = ProcessInfo.processInfo.environment["STNREG_PROTOCOLS"], !env.isEmpty { out.append(env) }
        let exe = URL(fileURLWithPath: executablePath()).resolvingSymlinksInPath().deletingLastPathComponent()
        var dir = exe
        for _ in 0..<6 {
            out.append(dir.appendingPathComponent("Protocols").path)
            dir = dir.deletingLastPathComponent()
        }
        out.append(exe.deletingLastPathComponent().appendingPathComponent("share/stnreg/Protocols").path)
        return out
    }

    /// The path of a shipped file (e.g. `brain-affine.json`), or nil.
    public static func shippedFile(_ name: String) -> String? {
        for folder in searchFolders() {
            let p = folder + "/" + name
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        return nil
    }

    /// Resolves `--protocol NAME|PATH` (nil = the default preset) to a file path.
    public static func resolve(_ nameOrPath: String?) throws -> String {
        let s = nameOrPath ?? RegistrationProtocol.defaultName
        if s.contains("/") || s.hasSuffix(".json") {
            guard FileManager.default.fileExists(atPath: s) else {
                throw ProtocolError(path: s, key: "", problem: "no such protocol file")
            }
            return s
        }
        if let p = shippedFile(s + ".json") { return p }
        throw ProtocolError(path: s, key: "",
                            problem: "unknown protocol name; shipped presets are \(RegistrationProtocol.builtInNames.joined(separator: ", ")) (looked in \(searchFolders().first ?? "Protocols/") and above the executable; set STNREG_PROTOCOLS to the Protocols folder, or give a path to a .json file)")
    }

    /// Loads `--protocol NAME|PATH` (nil = default), returning the protocol and the file it came from.
    public static func load(_ nameOrPath: String?) throws -> (protocol: RegistrationProtocol, path: String) {
        let l = try loadWithBytes(nameOrPath)
        return (l.protocol, l.path)
    }

    /// Like ``load(_:)``, with the bytes the protocol was parsed from (records hash these, so
    /// the hash is of what was used even if the file changes during the run).
    public static func loadWithBytes(_ nameOrPath: String?) throws -> (protocol: RegistrationProtocol, path: String, bytes: Data) {
        let path = try resolve(nameOrPath)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProtocolError(path: path, key: "", problem: "cannot read the file (does it exist?)")
        }
        return (try RegistrationProtocol.parse(data, path: path), path, data)
    }

    static func executablePath() -> String {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        return CommandLine.arguments.first ?? "."
    }
}
