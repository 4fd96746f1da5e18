import Foundation
import VolumeCore

/// ANTs' binary affine file (`antsRegistration` output `…0GenericAffine.mat`): ITK's
/// MATLAB v4 transform format (see ``MatlabV4`` for the byte layout).
///
/// Two variables, each a column vector:
/// - `AffineTransform_double_3_3` (12 × 1 float64): the 9 entries of `M` row by row, then `t`
///   (`antsRegistration --float` writes `AffineTransform_float_3_3` with float32 data);
/// - `fixed` (3 × 1): the centre of rotation `c`.
///
/// **Convention**: exactly as the ITK text file (``ITKAffineParameters``): LPS physical space,
/// fixed (atlas) → moving (scan), `y = M·(x − c) + c + t`, so the LPS 4×4 matrix is
/// `LPS · atlasToScan · LPS`. The writer uses `c = 0` unless told otherwise; the reader honours
/// any `c` (ANTs writes the centre of the fixed image's mass or grid there).
public enum ANTsMatTransform {
    /// The precision of the transform parameters in the file.
    public enum Precision: String, Sendable, CaseIterable {
        /// `AffineTransform_double_3_3`, float64 data (what antsRegistration writes by default).
        case double
        /// `AffineTransform_float_3_3`, float32 data (antsRegistration `--float`).
        case float
    }

    /// The file bytes for `atlasToScan` (RAS, atlas→scan), centre of rotation `centreRAS`.
    public static func encode(_ atlasToScan: Affine, centreRAS: SIMD3<Double> = .zero,
                              precision: Precision = .double) -> Data {
        let p = ITKAffineParameters(atlasToScan: atlasToScan, centreRAS: centreRAS)
        let mp: MatlabV4.Precision = precision == .double ? .float64 : .float32
        return MatlabV4.encode(name: "AffineTransform_\(precision.rawValue)_3_3", rows: 12, cols: 1,
                               values: p.parameters, precision: mp)
            + MatlabV4.encode(name: "fixed", rows: 3, cols: 1, values: p.fixedParameters, precision: mp)
    }

    /// The `atlasToScan` (RAS, atlas→scan) in an ANTs/ITK `.mat` file; `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws -> Affine {
        let variables = try MatlabV4.decode(data, file: file)
        // ITK reads the transform first and `fixed` second; accept either order.
        guard let transform = variables.first(where: { $0.name != "fixed" }) else {
            throw TransformFileError(file: file, problem: "no transform variable (expected AffineTransform_double_3_3)",
                                     remedy: "the file is damaged or not an ANTs affine")
        }
        guard ITKAffineParameters.readableTypes.contains(transform.name) else {
            throw TransformFileError(file: file, place: "byte \(transform.offset)",
                                     problem: "unknown transform type '\(transform.name.prefix(60))'",
                                     remedy: ITKAffineParameters.unknownTypeRemedy)
        }
        guard let fixed = variables.first(where: { $0.name == "fixed" }) else {
            throw TransformFileError(file: file, problem: "no variable 'fixed' (the centre of rotation)",
                                     remedy: "the file is truncated or damaged; write it again")
        }
        for (v, n) in [(transform, 12), (fixed, 3)] where v.values.count != n {
            throw TransformFileError(file: file, place: "variable \(v.name)",
                                     problem: "expected \(n) numbers, found \(v.values.count) (\(v.rows) × \(v.cols))",
                                     remedy: "the file is damaged or not an ANTs affine")
        }
        for v in [transform, fixed] {
            if let bad = v.values.firstIndex(where: { !$0.isFinite }) {
                throw TransformFileError(file: file, place: "variable \(v.name)",
                                         problem: "number \(bad + 1) is not finite (\(v.values[bad]))",
                                         remedy: "the transform that produced this file failed; register again")
            }
        }
        let affine = ITKAffineParameters(parameters: transform.values, fixedParameters: fixed.values).atlasToScan
        return try TextParsing.checkedInvertible(affine, file: file, place: "variable \(transform.name)")
    }
}
