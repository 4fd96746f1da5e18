import VolumeCore

/// The 12 + 3 numbers by which ITK (and so ANTs and SimpleITK) stores an affine transform,
/// shared by the ITK text and the ANTs binary `.mat` formats.
///
/// **Convention.** ITK works in LPS physical space (`LPS = diag(-1, -1, 1, 1)` applied to our
/// RAS+ mm) and a registration transform maps *fixed* (atlas) points to *moving* (scan) points,
/// the same pull direction as our `atlasToScan`. The LPS 4×4 matrix is therefore
/// `A = LPS · atlasToScan · LPS`. ITK does not store `A` directly: with the 3×3 matrix `M`,
/// the "translation" `t` (`Parameters`, after the 9 entries of `M` row by row) and the centre
/// of rotation `c` (`FixedParameters`), a point maps as
///
///     y = M · (x − c) + c + t
///
/// so the 4×4 translation of `A` is `c + t − M·c`, which equals `t` only when `c = 0`.
/// Writers here choose `c` (zero by default); readers honour any `c`.
public struct ITKAffineParameters: Equatable, Sendable {
    /// The 3×3 matrix `M` in LPS, row by row (9 values), then the translation `t` in LPS mm (3).
    public var parameters: [Double]
    /// The centre of rotation `c` in LPS mm (3 values).
    public var fixedParameters: [Double]

    public init(parameters: [Double], fixedParameters: [Double]) {
        precondition(parameters.count == 12 && fixedParameters.count == 3, "ITK affine needs 12 + 3 parameters")
        self.parameters = parameters
        self.fixedParameters = fixedParameters
    }

    static let lps = Affine.scaling(SIMD3(-1, -1, 1))

    /// The ITK numbers for `atlasToScan` (RAS, atlas→scan) with the centre `centreRAS`
    /// (RAS mm; written to the file in LPS).
    public init(atlasToScan: Affine, centreRAS: SIMD3<Double> = .zero) {
        let a = Self.lps * atlasToScan * Self.lps
        let c = Self.lps.apply(centreRAS)
        let m = a.linear
        let t = a.translation - c + m * c
        self.init(parameters: m.rowMajor + [t.x, t.y, t.z], fixedParameters: [c.x, c.y, c.z])
    }

    /// The `atlasToScan` (RAS, atlas→scan) these numbers describe.
    public var atlasToScan: Affine {
        let m = Matrix3(rowMajor: Array(parameters[0..<9]))
        let t = SIMD3(parameters[9], parameters[10], parameters[11])
        let c = SIMD3(fixedParameters[0], fixedParameters[1], fixedParameters[2])
        let a = Affine(linear: m, translation: c + t - m * c)
        return Self.lps * a * Self.lps
    }

    /// The transform type names stnreg reads: ITK's affine classes over doubles or floats in 3D.
    /// All four share the parameter layout above.
    static let readableTypes: Set<String> = [
        "AffineTransform_double_3_3", "AffineTransform_float_3_3",
        "MatrixOffsetTransformBase_double_3_3", "MatrixOffsetTransformBase_float_3_3",
    ]

    static let unknownTypeRemedy =
        "stnreg reads AffineTransform_{double,float}_3_3 and MatrixOffsetTransformBase_{double,float}_3_3; convert other transforms to an affine first (e.g. with SimpleITK)"
}
