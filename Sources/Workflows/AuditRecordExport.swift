import AuditLog
import Foundation
import NIfTIIO
import TransformIO
import VolumeCore

/// `stnreg audit show`: finding one record and re-exporting its transform.
public enum AuditRecordExport {
    /// The record whose `id` or `hash` starts with `key` (at least 4 characters), or the record
    /// at line N for `key` = `line:N`. Throws when none or more than one matches.
    public static func find(_ key: String, in log: String) throws -> AuditRecord {
        let records = try AuditLogFile(path: log).readRecords()
        if key.hasPrefix("line:"), let n = Int(key.dropFirst(5)) {
            guard let r = records.first(where: { $0.line == n }) else {
                throw AuditLogError(path: log, problem: "no record at line \(n) (the log has \(records.count))")
            }
            return r
        }
        guard key.count >= 4 else {
            throw AuditLogError(path: log, problem: "'\(key)': give at least 4 characters of a record's id or hash, or line:N")
        }
        let k = key.lowercased()
        let matches = records.filter { ($0.fields["id"]?.string ?? "").hasPrefix(k) || $0.hash.hasPrefix(k) }
        guard let first = matches.first else { throw AuditLogError(path: log, problem: "no record with id or hash starting '\(key)'") }
        guard matches.count == 1 else {
            throw AuditLogError(path: log, problem: "'\(key)' matches \(matches.count) records (lines \(matches.map { String($0.line) }.joined(separator: ", "))); give more characters")
        }
        return first
    }

    /// The record's `atlasToScan` (RAS+ mm, atlas → scan).
    public static func atlasToScan(_ r: AuditRecord, log: String) throws -> Affine {
        guard let value = r.fields["atlasToScan"], !value.isNull else {
            throw AuditLogError(path: log, line: r.line, problem: "the record has no transform (status \(r.fields["status"]?.string ?? "?"))")
        }
        return try StnregTransformJSON.matrix(value, file: log, place: "line \(r.line)")
    }

    /// Writes the record's transform to `path` in `format`. FSL and LTA need the atlas and scan
    /// grids: they are read from the headers of the recorded input files, which must still exist.
    public static func export(_ r: AuditRecord, log: String, format: TransformFormat, to path: String) throws {
        let t = try atlasToScan(r, log: log)
        let inputs = r.fields["inputs"]?.array ?? []
        func inputPath(_ role: String) -> String? { inputs.first { $0["role"]?.string == role }?["path"]?.string }
        let inverse = r.fields["apply"]?["inverse"]?.bool ?? false
        let isApply = r.fields["command"]?.string == "apply"
        let atlasRole = isApply ? (inverse ? "moving" : "reference") : "atlas"
        let scanRole = isApply ? (inverse ? "reference" : "moving") : "scan"
        var atlasGrid: Grid? = nil, scanGrid: Grid? = nil
        let atlasPath = inputPath(atlasRole), scanPath = inputPath(scanRole)
        if format.writingNeedsGrids {
            for (role, p) in [(atlasRole, atlasPath), (scanRole, scanPath)] {
                guard let p, FileManager.default.fileExists(atPath: p) else {
                    throw AuditLogError(path: log, line: r.line,
                                        problem: "\(format.rawValue) needs the \(role) image's header, but \(p ?? "its path") is not on disk; export itkText, antsMat or niftyReg instead, or restore the file")
                }
            }
            atlasGrid = try NIfTIReader.readHeader(atlasPath!).grid
            scanGrid = try NIfTIReader.readHeader(scanPath!).grid
        }
        try TransformFile.write(t, format: format, to: path, atlasGrid: atlasGrid, scanGrid: scanGrid,
                                atlasName: atlasPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "",
                                scanName: scanPath.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "",
                                protectedInputs: [log] + [atlasPath, scanPath].compactMap { $0 })
    }
}
