import VolumeCore

/// NiftyReg's affine file (`reg_aladin -aff x.txt`): four lines of four numbers.
///
/// **Convention**: world (RAS+ mm, from each image's sform, else qform) coordinates, mapping
/// *reference* (atlas) points to *floating* (scan) points — the pull direction, so the matrix
/// is `atlasToScan` itself, and it does not depend on the images' grids.
public enum NiftyRegTransform {
    /// The file text for `atlasToScan` (RAS, atlas→scan).
    public static func encode(_ atlasToScan: Affine) -> String {
        TextParsing.rows4x4(atlasToScan)
    }

    /// The `atlasToScan` (RAS, atlas→scan) in NiftyReg matrix text.
    public static func decode(_ text: String, file: String) throws -> Affine {
        let lines = TextParsing.lines(text, stripComments: true)
        let m = try TextParsing.matrix4x4(lines[...], file: file, what: "a NiftyReg matrix has 4 rows of 4 numbers")
        if lines.count > 4 {
            throw TransformFileError(file: file, place: lines[4].place, problem: "unexpected text after the 4×4 matrix",
                                     remedy: "a NiftyReg matrix has exactly 4 rows of 4 numbers")
        }
        return m
    }
}
