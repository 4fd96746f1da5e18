import Foundation
import NIfTIIO
import VolumeCore

/// What one fuzz input did.
public enum FuzzOutcome: Sendable, Equatable {
    /// Read without error; the text summarises what was read.
    case accepted(String)
    /// Rejected with the expected error type; `kind` is its category (e.g. a `NIfTIError.Kind`).
    case rejected(kind: String)
    /// A bug short of a crash: the wrong error type, a message that does not name the file or
    /// spans lines, or an accepted result that breaks the reader's promises.
    case finding(String)

    public var isFinding: Bool { if case .finding = self { return true } else { return false } }
}

/// Reads one input with ``NIfTIReader`` and checks the result: either a ``NIfTIError`` naming the
/// file on one line, or an image that keeps the reader's promises (finite voxels under the
/// `.reject` policy, the right voxel count, a finite invertible voxel-to-world matrix).
///
/// Only Swift errors are caught: a trap or a signal in the reader ends the process.
public struct NIfTIFuzzTarget: Sendable {
    /// The reader entry point used for an input.
    public enum Entry: Int, Sendable, CaseIterable {
        case read, readVolume, readHeader
    }

    public var options: NIfTIReadOptions

    public init(maxVoxelBytes: Int = 64 << 20) {
        options = NIfTIReadOptions(maxVoxelBytes: maxVoxelBytes)
    }

    /// Writes `bytes` to `path` (replacing it) and reads it through `entry`.
    public func run(bytes: [UInt8], at path: String, entry: Entry) -> FuzzOutcome {
        guard FuzzFiles.write(bytes, to: path) else { return .finding("cannot write the input to \(path)") }
        return read(path, entry: entry)
    }

    /// Reads an existing file through `entry`.
    public func read(_ path: String, entry: Entry) -> FuzzOutcome {
        do {
            switch entry {
            case .read:
                let image = try NIfTIReader.read(path, options: options)
                if image.voxels.count != image.grid.voxelCount * image.frameCount {
                    return .finding("read: \(image.voxels.count) voxels for a \(image.grid.dims) × \(image.frameCount) grid")
                }
                if let bad = image.voxels.firstIndex(where: { !$0.isFinite }) {
                    return .finding("read: voxel \(bad) is \(image.voxels[bad]) although non-finite voxels are rejected")
                }
                return check(image.header, "read")
            case .readVolume:
                let v = try NIfTIReader.readVolume(path, options: options)
                if v.voxels.count != v.grid.voxelCount { return .finding("readVolume: wrong voxel count") }
                if v.voxels.contains(where: { !$0.isFinite }) { return .finding("readVolume: non-finite voxel accepted") }
                guard v.grid.voxelToWorld.isFinite, v.grid.voxelToWorld.inverse != nil else {
                    return .finding("readVolume: singular or non-finite voxel-to-world matrix accepted")
                }
                return .accepted("volume \(v.dims)")
            case .readHeader:
                return check(try NIfTIReader.readHeader(path), "readHeader")
            }
        } catch let e as NIfTIError {
            return FuzzChecks.message(e.description, file: path, oneOf: NIfTIError.self, kind: e.kind.rawValue)
        } catch {
            return .finding("\(entry): error of type \(type(of: error)) instead of NIfTIError: \(error)")
        }
    }

    private func check(_ h: NIfTIHeader, _ what: String) -> FuzzOutcome {
        guard h.dims.count == 4, h.dims.allSatisfy({ $0 >= 1 }) else { return .finding("\(what): dims \(h.dims)") }
        guard h.voxelToWorld.isFinite, h.voxelToWorld.inverse != nil else {
            return .finding("\(what): singular or non-finite voxel-to-world matrix accepted")
        }
        return .accepted("\(what) v\(h.version) \(h.datatype.rawValue) \(h.dims)")
    }
}

/// Checks shared by every fuzz target.
public enum FuzzChecks {
    /// A rejection is clean when its message is one line and names the file.
    public static func message<E>(_ text: String, file: String, oneOf: E.Type, kind: String) -> FuzzOutcome {
        if text.contains(where: \.isNewline) { return .finding("\(E.self) message spans lines: \(text.debugDescription)") }
        if !text.hasPrefix(file) { return .finding("\(E.self) message does not start with the file name: \(text)") }
        return .rejected(kind: kind)
    }
}

/// Plain POSIX file writes (fast; no Foundation buffering) for fuzz inputs.
public enum FuzzFiles {
    /// Replaces `path` with `bytes`; false on any error.
    public static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// The peak resident set size of this process, in bytes.
    public static func maxRSSBytes() -> Int {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return u.ru_maxrss * 1024   // kilobytes on Linux
    }
}
