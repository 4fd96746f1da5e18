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

    /// A temporary path beside `path` (same folder, hidden, unique to this process and call):
    /// `DIR/.NAME.tmp-PID-TOKEN` (``TemporaryName``).
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        var rng = SystemRandomNumberGenerator()
        let token = String(UInt64.random(in: 0...UInt64.max, using: &rng), radix: 36)
        let name = TemporaryName(destination: url.lastPathComponent, pid: getpid(), token: token).fileName
        return url.deletingLastPathComponent().path + "/" + name
    }

    /// The one naming scheme of temporary files: `.NAME.tmp-PID-TOKEN`, hidden, beside the
    /// destination `NAME`, owned by process `PID` (every writer uses it, `AuditMerge` too;
    /// a missing `-TOKEN`, as older merges wrote, parses too).
    public struct TemporaryName: Sendable, Equatable {
        /// The destination's file name.
        public var destination: String
        /// The process writing it.
        public var pid: Int32
        /// Unique per call (base 36); may be empty.
        public var token: String

        public init(destination: String, pid: Int32, token: String) {
            self.destination = destination; self.pid = pid; self.token = token
        }

        public var fileName: String { "." + destination + ".tmp-\(pid)" + (token.isEmpty ? "" : "-" + token) }

        /// Parses a file name (no folder); nil when it is not a temporary file's name.
        public init?(fileName: String) {
            guard fileName.hasPrefix("."), let r = fileName.range(of: ".tmp-", options: .backwards) else { return nil }
            let destination = String(fileName[fileName.index(after: fileName.startIndex)..<r.lowerBound])
            let rest = fileName[r.upperBound...]
            let pidText = rest.prefix { $0.isASCII && $0.isNumber }
            guard !destination.isEmpty, let pid = Int32(pidText), pid > 0 else { return nil }
            let tail = rest.dropFirst(pidText.count)
            guard tail.isEmpty || tail.first == "-" else { return nil }
            self.init(destination: destination, pid: pid, token: String(tail.dropFirst()))
        }
    }

    /// Removes the temporary files in `folder` (``TemporaryName``) whose process no longer runs
    /// (a run killed while writing); files of running processes, and this process's own, are left
    /// alone. Returns the names removed, sorted.
    @discardableResult
    public static func removeStaleTemporaries(in folder: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw WriteError(path: folder, reason: "cannot list the folder to remove stale temporary files (\(error.localizedDescription))")
        }
        var removed: [String] = []
        for name in names.sorted() {
            guard let t = TemporaryName(fileName: name), t.pid != getpid(), try !SystemCall.processExists(t.pid) else { continue }
            try SystemCall.removeFile((folder as NSString).appendingPathComponent(name))
            removed.append(name)
        }
        return removed
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
            try SystemCall.renameFile(tmp, to: path)
        } catch {
            try? SystemCall.removeFile(tmp)
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

    /// The C calls of this file, each wrapped once: status → ``WriteError``.
    enum SystemCall {
        static func renameFile(_ from: String, to path: String) throws {
            guard rename(from, path) == 0 else {
                throw WriteError(path: path, reason: "cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
            }
        }

        /// Removes `path`; a file already gone is not an error.
        static func removeFile(_ path: String) throws {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw WriteError(path: path, reason: "cannot remove the temporary file: \(String(cString: strerror(errno)))")
            }
        }

        /// Whether process `pid` exists (`kill(pid, 0)`; a process of another user exists too).
        static func processExists(_ pid: Int32) throws -> Bool {
            if kill(pid, 0) == 0 { return true }
            switch errno {
            case ESRCH: return false
            case EPERM: return true
            default: throw WriteError(path: "/proc/\(pid)", reason: "cannot tell whether process \(pid) runs: \(String(cString: strerror(errno)))")
            }
        }
    }
}
