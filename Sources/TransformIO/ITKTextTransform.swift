import Foundation
import VolumeCore

/// ITK's text transform file (`.tfm` or `.txt`), as read by ITK, SimpleITK, ANTs, Slicer.
///
///     #Insight Transform File V1.0
///     #Transform 0
///     Transform: AffineTransform_double_3_3
///     Parameters: m00 m01 m02 m10 m11 m12 m20 m21 m22 tx ty tz
///     FixedParameters: cx cy cz
///
/// **Convention** (see ``ITKAffineParameters``): LPS physical space, fixed (atlas) → moving
/// (scan), `y = M·(x − c) + c + t`; the LPS 4×4 matrix is `LPS · atlasToScan · LPS`.
/// Example: `atlasToScan` = a shift of +5 mm along R (x) is written with `t = (−5, 0, 0)`,
/// because +R is −L.
///
/// The writer emits `AffineTransform_double_3_3` with centre `c = 0` unless told otherwise.
/// The reader takes the four affine types of ``ITKAffineParameters`` with any centre, and
/// also an ANTs-style file whose first entry is a `CompositeTransform` holding exactly one affine.
public enum ITKTextTransform {
    /// The file text for `atlasToScan` (RAS, atlas→scan), centre of rotation `centreRAS`.
    public static func encode(_ atlasToScan: Affine, centreRAS: SIMD3<Double> = .zero) -> String {
        let p = ITKAffineParameters(atlasToScan: atlasToScan, centreRAS: centreRAS)
        return """
            #Insight Transform File V1.0
            #Transform 0
            Transform: AffineTransform_double_3_3
            Parameters: \(p.parameters.map(TextParsing.format).joined(separator: " "))
            FixedParameters: \(p.fixedParameters.map(TextParsing.format).joined(separator: " "))

            """
    }

    /// The `atlasToScan` (RAS, atlas→scan) in an ITK text file; `file` names it in errors.
    public static func decode(_ text: String, file: String) throws -> Affine {
        let lines = TextParsing.lines(text, stripComments: false)
        guard let first = lines.first, first.text.hasPrefix("#Insight Transform File") else {
            throw TransformFileError(file: file, place: lines.first?.place,
                                     problem: "does not start with '#Insight Transform File V1.0'",
                                     remedy: "this is not an ITK text transform; check the format")
        }
        struct Entry { var header: NumberedLine; var type: NumberedLine?; var parameters: NumberedLine?; var fixed: NumberedLine? }
        var entries: [Entry] = []
        for line in lines.dropFirst() {
            if line.text.hasPrefix("#") {
                if line.text.hasPrefix("#Transform") { entries.append(Entry(header: line)) }
                continue
            }
            guard let colon = line.text.firstIndex(of: ":") else {
                throw TransformFileError(file: file, place: line.place, problem: "expected 'Key: value', found '\(line.text.prefix(40))'",
                                         remedy: "the file is damaged")
            }
            if entries.isEmpty {
                throw TransformFileError(file: file, place: line.place, problem: "'\(line.text[..<colon])' before any '#Transform' line",
                                         remedy: "the file is damaged")
            }
            let key = line.text[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line
            value.text = String(line.text[line.text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            switch key {
            case "Transform": entries[entries.count - 1].type = value
            case "Parameters": entries[entries.count - 1].parameters = value
            case "FixedParameters": entries[entries.count - 1].fixed = value
            default: continue   // other keys carry nothing for an affine
            }
        }
        // ANTs writes a composite wrapper (type only) in front of its members.
        let members = entries.filter { !($0.type?.text.hasPrefix("CompositeTransform") ?? false) }
        guard members.count == 1, let entry = members.first else {
            throw TransformFileError(file: file, problem: "contains \(members.count) transforms, expected exactly one affine",
                                     remedy: members.isEmpty ? "the file is empty or damaged"
                                         : "compose them into one affine first (e.g. antsApplyTransforms -t ... -o Linear[out.mat])")
        }
        guard let type = entry.type else {
            throw TransformFileError(file: file, place: entry.header.place, problem: "no 'Transform:' line", remedy: "the file is damaged")
        }
        guard ITKAffineParameters.readableTypes.contains(type.text) else {
            throw TransformFileError(file: file, place: type.place, problem: "unknown transform type '\(type.text.prefix(60))'",
                                     remedy: ITKAffineParameters.unknownTypeRemedy)
        }
        guard let parameters = entry.parameters else {
            throw TransformFileError(file: file, place: type.place, problem: "no 'Parameters:' line after the transform type",
                                     remedy: "the file is damaged")
        }
        guard let fixed = entry.fixed else {
            throw TransformFileError(file: file, place: parameters.place, problem: "no 'FixedParameters:' line (the centre of rotation)",
                                     remedy: "the file is damaged")
        }
        let p = try TextParsing.numbers(parameters.text, count: 12, file: file, place: parameters.place,
                                        what: "Parameters holds 9 matrix entries then 3 translations")
        let c = try TextParsing.numbers(fixed.text, count: 3, file: file, place: fixed.place,
                                        what: "FixedParameters holds the 3 coordinates of the centre of rotation")
        let affine = ITKAffineParameters(parameters: p, fixedParameters: c).atlasToScan
        return try TextParsing.checkedInvertible(affine, file: file, place: parameters.place)
    }
}
