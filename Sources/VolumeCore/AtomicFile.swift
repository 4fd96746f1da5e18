import Foundation

/// Writing outputs so that nothing half-written is ever left under the final name.
///
/// The data go to a temporary file in the destination's folder (same file system), are
/// flushed, and the file is renamed over the destination in one step.
public enum AtomicFile {
    /// Errors while writing an output file.
    public struct WriteError: Error, CustomStringConvertible, Equatable {
        public var path: String
        public var reason: String
        public init(path: String, reason: String) { self.path = path; self.reason = reason }
        public var description: String { "\(path): cannot write output: \(reason)" }
    }

    /// A temporary path beside `path` (same folder, hidden, unique to this process and call).
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        var rng = SystemRandomNumberGenerator()
        let token = UInt64.random(in: 0...UInt64.max, using: &rng)
        return dir + "/." + name + ".tmp-\(getpid())-\(String(token, radix: 36))"
    }

    /// Writes `data` to `path` atomically. Refuses a path in `protectedInputs` (compared after
    /// resolving symbolic links), so that an input is never overwritten.
    public static func write(_ data: Data, to path: String, protectedInputs: [String] = []) throws {
        try refuseInputs(path, protectedInputs)
        try withTemporary(for: path) { tmp in
            guard FileManager.default.createFile(atPath: tmp, contents: nil) else {
                throw WriteError(path: path, reason: "cannot create a file in \(directory(of: path)) (does the folder exist and is it writable?)")
            }
            guard let handle = FileHandle(forWritingAtPath: tmp) else {
                throw WriteError(path: path, reason: "cannot open a temporary file for writing")
            }
            do {
                try handle.write(contentsOf: data)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw WriteError(path: path, reason: "write failed (\(error.localizedDescription)); is the disk full?")
            }
        }
    }

    /// Runs `produce(tmp)` to create a temporary file, then renames it to `path`.
    /// On any error the temporary file is removed and the destination is left untouched.
    public static func withTemporary(for path: String, _ produce: (String) throws -> Void) throws {
        let tmp = temporaryPath(for: path)
        do {
            try produce(tmp)
            guard rename(tmp, path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw WriteError(path: path, reason: "cannot rename the temporary file into place: \(reason)")
            }
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// Throws when `path` names the same file as one of `inputs`.
    public static func refuseInputs(_ path: String, _ inputs: [String]) throws {
        let target = canonical(path)
        for input in inputs where canonical(input) == target {
            throw WriteError(path: path, reason: "this is also an input file; choose another output name (inputs are never overwritten)")
        }
    }

    /// Absolute path with symbolic links resolved (for existing files) and `.`/`..` removed.
    public static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    static func directory(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}
