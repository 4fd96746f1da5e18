import Foundation
import VolumeCore

/// One non-empty line of a text transform file: its 1-based number and its text without
/// the comment (from `#` on, when comments are stripped) and surrounding white space.
struct NumberedLine {
    var number: Int
    var text: String
    var place: String { "line \(number)" }
}

enum TextParsing {
    /// Decodes `data` as UTF-8 text (ASCII in practice) or throws naming the file.
    static func text(_ data: Data, file: String, format: String) throws -> String {
        guard let s = String(data: data, encoding: .utf8) else {
            throw TransformFileError(file: file, problem: "not a text file (invalid UTF-8)",
                                     remedy: "a \(format) file is plain text; check the format")
        }
        return s
    }

    /// The non-empty lines of `text`, numbered from 1, trimmed; with `stripComments`,
    /// everything from `#` on is dropped first (LTA, FSL, NiftyReg; not ITK, whose
    /// `#Transform` lines matter).
    static func lines(_ text: String, stripComments: Bool) -> [NumberedLine] {
        var out: [NumberedLine] = []
        var n = 0
        // Split on \n, tolerating \r\n and lone \r (files edited on other systems).
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            n += 1
            var s = Substring(raw)
            if stripComments, let hash = s.firstIndex(of: "#") { s = s[..<hash] }
            let t = s.trimmingCharacters(in: .whitespaces)
            if !t.isEmpty { out.append(NumberedLine(number: n, text: t)) }
        }
        return out
    }

    /// The white-space separated numbers in `s`; each must parse and be finite.
    static func numbers(_ s: some StringProtocol, file: String, place: String) throws -> [Double] {
        var out: [Double] = []
        for (n, token) in s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).enumerated() {
            guard let v = Double(token) else {
                throw TransformFileError(file: file, place: place,
                                         problem: "'\(token.prefix(40))' is not a number",
                                         remedy: "the file is damaged or not in the format expected")
            }
            guard v.isFinite else {
                throw TransformFileError(file: file, place: place,
                                         problem: "number \(n + 1) is not finite (\(token))",
                                         remedy: "the transform that produced this file failed; register again")
            }
            out.append(v)
        }
        return out
    }

    /// Exactly `count` numbers from `s`, or an error saying how many were found.
    static func numbers(_ s: some StringProtocol, count: Int, file: String, place: String, what: String) throws -> [Double] {
        let v = try numbers(s, file: file, place: place)
        guard v.count == count else {
            throw TransformFileError(file: file, place: place,
                                     problem: "expected \(count) numbers, found \(v.count)", remedy: what)
        }
        return v
    }

    /// A 4×4 matrix from four lines of four numbers. The last row must be `0 0 0 1` and the
    /// linear part invertible.
    static func matrix4x4(_ rows: ArraySlice<NumberedLine>, file: String, what: String) throws -> Affine {
        var values: [Double] = []
        for row in rows.prefix(4) {
            values += try numbers(row.text, count: 4, file: file, place: row.place, what: what)
        }
        guard rows.count >= 4 else {
            throw TransformFileError(file: file, place: "end of file",
                                     problem: "expected 4 rows of 4 numbers, found \(rows.count)", remedy: what)
        }
        guard let affine = Affine(rowMajor4x4: values) else {
            let last = values[12..<16].map(format).joined(separator: " ")
            throw TransformFileError(file: file, place: rows[rows.startIndex + 3].place,
                                     problem: "the last row is '\(last)', not '0 0 0 1'",
                                     remedy: "this is not an affine matrix")
        }
        return try checkedInvertible(affine, file: file, place: nil)
    }

    /// `affine` itself when its linear part is invertible, else an error.
    static func checkedInvertible(_ affine: Affine, file: String, place: String?) throws -> Affine {
        guard affine.isFinite else {
            throw TransformFileError(file: file, place: place, problem: "the matrix has non-finite entries",
                                     remedy: "the transform that produced this file failed; register again")
        }
        guard affine.inverse != nil else {
            throw TransformFileError(file: file, place: place,
                                     problem: "the matrix is singular (determinant \(format(affine.determinant)))",
                                     remedy: "a registration transform must be invertible; the file is damaged or the registration failed")
        }
        return affine
    }

    /// The shortest decimal text that reads back to exactly `x`: whole numbers without a
    /// decimal point ("1", "-5", "0" also for −0), others as Swift prints them ("-5.25", "1e-05").
    static func format(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(describing: x)
    }

    /// Rows of a 4×4 matrix, four numbers a line separated by single spaces.
    static func rows4x4(_ a: Affine) -> String {
        a.rows4x4.map { $0.map(format).joined(separator: " ") }.joined(separator: "\n") + "\n"
    }
}

/// Requires both grids for a format that needs them, or throws naming what is missing.
func requireGrids(_ atlasGrid: Grid?, _ scanGrid: Grid?, file: String, format: String,
                  reading: Bool) throws -> (atlas: Grid, scan: Grid) {
    guard let atlasGrid, let scanGrid else {
        let missing = [atlasGrid == nil ? "atlas" : nil, scanGrid == nil ? "scan" : nil]
            .compactMap { $0 }.joined(separator: " and ")
        throw TransformFileError(
            file: file,
            problem: reading ? "this looks like an \(format) matrix; \(format) needs --scan-header and --atlas-header"
                             : "an \(format) matrix cannot be written without the \(missing) image grid",
            remedy: reading ? "its coordinates depend on both images' grids: pass the scan and atlas images"
                            : "pass the scan and atlas images")
    }
    for (g, role) in [(atlasGrid, "atlas"), (scanGrid, "scan")] where g.voxelToWorld.inverse == nil {
        throw TransformFileError(file: file, problem: "the \(role) grid's voxel-to-world matrix is singular",
                                 remedy: "check the \(role) image header")
    }
    return (atlasGrid, scanGrid)
}
