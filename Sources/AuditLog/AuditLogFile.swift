import Foundation
import Parallelism
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only JSON Lines audit log on disk (see ``AuditChain`` for the record format).
///
/// Appends take an exclusive `flock` on the log file, read the last record's hash, write the
/// new line with one `write` on an `O_APPEND` descriptor, `fsync`, and unlock; several
/// processes (and threads) may append to one log at once. `flock` is advisory and works
/// between processes on one machine (on NFS only where the server supports it): give each
/// cluster node its own log and join them with ``AuditMerge``.
public struct AuditLogFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// What an append wrote.
    public struct Appended: Sendable, Equatable {
        /// The new record's hash.
        public var hash: String
        /// Its `prev`.
        public var prev: String
    }

    /// Appends one record holding `payload` (which must not hold `prev`, `hash`, `signedBy` or
    /// `signature`), signed by `signer` when one is given (signed inside the lock: the
    /// signature covers the `prev` it is chained to; see ``AuditChain``). Creates the file when
    /// missing (its folder must exist). Refuses to chain onto a torn last line.
    @discardableResult
    public func append(_ payload: [String: AuditValue], signer: AuditSigner? = nil) throws -> Appended {
        for key in AuditChain.reservedKeys.sorted() where payload[key] != nil {
            throw AuditLogError(path: path, problem: "a record may not set '\(key)' itself (the log adds it)")
        }
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw AuditLogError(path: path, problem: "cannot open the audit log for appending: \(String(cString: strerror(errno))) (does the folder exist and is it writable?)")
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw AuditLogError(path: path, problem: "cannot lock the audit log: \(String(cString: strerror(errno)))")
            }
        }
        defer { _ = flock(fd, LOCK_UN) }

        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw AuditLogError(path: path, problem: "cannot stat the audit log: \(String(cString: strerror(errno)))")
        }
        let size = Int(st.st_size)
        let prev = try lastHash(fd: fd, size: size)
        let sealed: (line: [UInt8], hash: String)
        do {
            sealed = try AuditChain.seal(payload, prev: prev, signer: signer)
        } catch {
            throw AuditLogError(path: path, problem: "cannot sign the record: \(error)")
        }
        var bytes = sealed.line
        bytes.append(0x0A)
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw AuditLogError(path: path, problem: "cannot write the record: \(String(cString: strerror(errno))) (is the disk full?)")
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else {
            throw AuditLogError(path: path, problem: "cannot flush the record to disk: \(String(cString: strerror(errno)))")
        }
        if size == 0 { syncFolder() }
        return Appended(hash: sealed.hash, prev: prev)
    }

    /// The last record's hash (genesis for an empty file), read from the end of the file.
    private func lastHash(fd: Int32, size: Int) throws -> String {
        guard size > 0 else { return AuditChain.genesis }
        // Read backwards in blocks until the start of the last line is in view.
        var tail: [UInt8] = []
        var offset = size
        var lineStart: Int? = nil
        while offset > 0 && lineStart == nil {
            let n = min(65536, offset)
            offset -= n
            var block = [UInt8](repeating: 0, count: n)
            let got = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, n, off_t(offset)) }
            guard got == n else {
                throw AuditLogError(path: path, problem: "cannot read the end of the audit log: \(String(cString: strerror(errno)))")
            }
            tail = block + tail
            if tail.last != 0x0A {
                throw AuditLogError(path: path, problem: "the last line is torn (no line end: a write was cut short); run `stnreg audit verify \(path)`, then move the log aside or remove the torn line before appending")
            }
            if let nl = tail.dropLast().lastIndex(of: 0x0A) { lineStart = nl + 1 }
        }
        let line = Array(tail[(lineStart ?? 0)..<(tail.count - 1)])
        guard let value = try? JSONLineParser.parse(line), let h = value["hash"]?.string, AuditChain.isDigest(h) else {
            throw AuditLogError(path: path, problem: "the last line is not an audit record with a 'hash'; run `stnreg audit verify \(path)` before appending")
        }
        return h
    }

    private func syncFolder() {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// One line of the file as read.
    public struct Line: Sendable {
        /// 1-based line number.
        public var number: Int
        /// The line's bytes without the line end.
        public var bytes: [UInt8]
        /// False for a last line with no line end (a write cut short).
        public var complete: Bool
        /// The record, or why the line is not one.
        public var record: Result<AuditRecord, AuditLogError>
    }

    /// Reads every line of the log. Lines that are not records come back as failures (with
    /// their line number); a last line without a line end is marked incomplete.
    public func readLines() throws -> [Line] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw AuditLogError(path: path, problem: exists ? "cannot read the audit log (check its permissions)" : "no such audit log")
        }
        let bytes = [UInt8](data)
        var pieces: [(number: Int, bytes: [UInt8], complete: Bool)] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A)
            pieces.append((pieces.count + 1, Array(bytes[start..<(end ?? bytes.count)]), end != nil))
            start = (end ?? bytes.count) + 1
        }
        let path = self.path
        return parallelMap(pieces.count, threads: ThreadPolicy.defaultThreadCount) { n in
            let p = pieces[n]
            return Line(number: p.number, bytes: p.bytes, complete: p.complete, record: AuditLogFile.record(p.bytes, number: p.number, path: path))
        }
    }

    /// Reads every record; throws at the first line that is not a complete record.
    public func readRecords() throws -> [AuditRecord] {
        try readLines().map { line in
            guard line.complete else {
                throw AuditLogError(path: path, line: line.number, problem: "the last line is torn (no line end: a write was cut short)")
            }
            return try line.record.get()
        }
    }

    static func record(_ bytes: [UInt8], number: Int, path: String) -> Result<AuditRecord, AuditLogError> {
        let value: AuditValue
        do {
            value = try JSONLineParser.parse(bytes)
        } catch let e as JSONSyntaxError {
            return .failure(AuditLogError(path: path, line: number, problem: "not valid JSON (\(e))"))
        } catch {
            return .failure(AuditLogError(path: path, line: number, problem: "not valid JSON (\(error))"))
        }
        guard let o = value.object else {
            return .failure(AuditLogError(path: path, line: number, problem: "expected a JSON object, found \(value)"))
        }
        for key in ["prev", "hash"] {
            guard let s = o[key]?.string, AuditChain.isDigest(s) else {
                return .failure(AuditLogError(path: path, line: number, problem: "member '\(key)' must be 64 lowercase hex digits"))
            }
        }
        return .success(AuditRecord(line: number, fields: o))
    }
}
