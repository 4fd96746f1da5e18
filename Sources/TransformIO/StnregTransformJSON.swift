import Foundation
import VolumeCore

/// stnreg's own transform JSON (`P_transform.json`, `"format": "stnreg-transform"`): the one
/// reader of its `atlasToScan`, also for the same member in audit records.
///
/// **Convention**: `atlasToScan` is 4 rows of 4 numbers, world RAS+ mm, atlas (fixed) points →
/// scan (moving) points (DESIGN.md), last row `0 0 0 1`. `align` writes the whole record
/// (Registration's `TransformRecord`: how the transform was made and from what); ``encode(_:)``
/// writes the transform part only (`format`, `version`, `atlasToScan`, `scanToAtlas`), which is
/// all a reader needs.
public enum StnregTransformJSON {
    public static let formatName = "stnreg-transform"
    public static let currentVersion = 1

    /// Whether `text` looks like stnreg's JSON: an object naming ``formatName`` (the marker
    /// ``TransformFormat/detect(_:file:)`` goes by).
    static func hasMarker(_ text: String) -> Bool {
        text.drop { $0.isWhitespace }.first == "{" && text.contains("\"\(formatName)\"")
    }

    /// The file content for `atlasToScan` (sorted keys, pretty-printed).
    public static func encode(_ atlasToScan: Affine) throws -> Data {
        struct File: Encodable {
            var format = StnregTransformJSON.formatName
            var version = StnregTransformJSON.currentVersion
            var atlasToScan: Affine
            var scanToAtlas: Affine
        }
        return try StableJSON.encode(File(atlasToScan: atlasToScan, scanToAtlas: atlasToScan.inverse ?? atlasToScan))
    }

    /// The `atlasToScan` of stnreg's transform JSON, checking the format marker, the version and
    /// the matrix. `file` names the data in errors.
    public static func decode(_ data: Data, file: String) throws -> Affine {
        let root: JSONValue
        switch JSONValue.parse(data) {
        case .success(let v): root = v
        case .failure(let e): throw TransformFileError(file: file, problem: "not valid JSON (\(e.message))")
        }
        guard case .object(let o) = root else {
            throw TransformFileError(file: file, problem: "expected a JSON object at the top level")
        }
        guard o["format"]?.string == formatName else {
            throw TransformFileError(file: file, place: "key 'format'", problem: "expected \"\(formatName)\" (is this a stnreg transform file?)")
        }
        guard o["version"]?.number == Double(currentVersion) else {
            throw TransformFileError(file: file, place: "key 'version'", problem: "this stnreg reads version \(currentVersion)")
        }
        return try matrix(o["atlasToScan"], file: file)
    }

    /// `atlasToScan` from its JSON value (4 rows of 4 finite numbers, last row `0 0 0 1`,
    /// invertible). `file` and `place` (e.g. `line 3` of an audit log) name it in errors.
    public static func matrix(_ value: JSONValue?, key: String = "atlasToScan", file: String, place: String? = nil) throws -> Affine {
        let at = (place.map { $0 + ": " } ?? "") + "key '\(key)'"
        guard let rows = value?.array, rows.count == 4 else {
            throw TransformFileError(file: file, place: at, problem: "expected 4 rows of 4 numbers")
        }
        var e: [Double] = []
        for (r, row) in rows.enumerated() {
            guard let items = row.array, items.count == 4 else {
                throw TransformFileError(file: file, place: at + " row \(r)", problem: "expected 4 numbers")
            }
            for (c, item) in items.enumerated() {
                guard let x = item.number, x.isFinite else {
                    throw TransformFileError(file: file, place: at + " row \(r) column \(c)", problem: "expected a finite number")
                }
                e.append(x)
            }
        }
        guard let a = Affine(rowMajor4x4: e) else {
            throw TransformFileError(file: file, place: at, problem: "the last row must be 0 0 0 1")
        }
        guard a.inverse != nil else {
            throw TransformFileError(file: file, place: at, problem: "the matrix is singular")
        }
        return a
    }
}
