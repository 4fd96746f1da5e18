import VolumeCore

/// Which header field gave an image its voxel-to-world matrix.
///
/// Precedence (DESIGN.md): the sform if `sform_code > 0`, else the qform if `qform_code > 0`,
/// else pixdim scaling (see ``NIfTIHeader/pixdimFallback(dims:pixdim:)``).
public enum WorldMatrixSource: Sendable, Equatable, Codable, CustomStringConvertible {
    case sform(code: Int)
    case qform(code: Int)
    case pixdim

    /// E.g. "sform (code 4, MNI 152)", "qform (code 1, scanner)", "pixdim (no sform or qform)".
    public var description: String {
        switch self {
        case .sform(let c): "sform (code \(c), \(WorldMatrixSource.codeName(c)))"
        case .qform(let c): "qform (code \(c), \(WorldMatrixSource.codeName(c)))"
        case .pixdim: "pixdim (no sform or qform; centred, x flipped, as nibabel)"
        }
    }

    /// Name of a NIfTI `NIFTI_XFORM_*` code.
    public static func codeName(_ code: Int) -> String {
        switch code {
        case 0: "unknown"
        case 1: "scanner"
        case 2: "aligned"
        case 3: "Talairach"
        case 4: "MNI 152"
        case 5: "template"
        default: "non-standard"
        }
    }
}

/// The header of a NIfTI file: what `stnreg info` prints.
///
/// World space is NIfTI RAS+ millimetres; `voxelToWorld` maps voxel *centres* (i, j, k) to it.
public struct NIfTIHeader: Sendable {
    /// The path as given to the reader.
    public var path: String
    /// 1 (NIfTI-1, 348-byte header) or 2 (NIfTI-2, 540-byte header).
    public var version: Int
    /// True when the file is gzip-compressed (`.nii.gz`).
    public var compressed: Bool
    /// `[nx, ny, nz, nt]`, each ≥ 1 (unused dimensions are 1).
    public var dims: [Int]
    public var datatype: NIfTIDatatype
    /// `pixdim[1...3]` as stored (mm when `xyzt_units` says mm).
    public var pixdim: SIMD3<Double>
    /// `scl_slope` as stored (0 means "no scaling"; non-finite values read as 0).
    public var sclSlope: Double
    public var sclInter: Double
    /// `sform_code` / `qform_code` (negative codes read as 0, like libnifti).
    public var sformCode: Int
    public var qformCode: Int
    /// The sform matrix (`srow_x/y/z`) when `sformCode > 0`.
    public var sform: Affine?
    /// The matrix of the quaternion fields (with pixdim and qfac) when `qformCode > 0`.
    public var qform: Affine?
    /// Which of the above gave ``voxelToWorld``.
    public var matrixSource: WorldMatrixSource
    /// Voxel centre (i, j, k) → world RAS+ mm, chosen by the precedence of ``WorldMatrixSource``.
    public var voxelToWorld: Affine
    /// Both sform and qform present and mapping some corner of the image more than
    /// ``disagreementToleranceMM`` apart. The sform is used.
    public var sformQformDisagree: Bool
    /// True when the file is stored most-significant byte first.
    public var bigEndian: Bool
    /// The `descrip` field (up to 80 characters).
    public var description: String

    /// Corner displacement (mm) above which sform and qform are said to disagree.
    public static let disagreementToleranceMM = 1e-3

    public var frameCount: Int { dims[3] }
    public var gridDims: SIMD3<Int> { SIMD3(dims[0], dims[1], dims[2]) }
    public var grid: Grid { Grid(dims: gridDims, voxelToWorld: voxelToWorld) }

    /// The matrix used when neither sform nor qform is set — nibabel's `get_base_affine()`:
    /// `diag(-pixdim.x, pixdim.y, pixdim.z)` (x flipped, i.e. the Analyze convention of LAS
    /// storage) with the translation that puts the centre voxel `(n - 1) / 2` at world 0.
    /// (libnifti instead uses `diag(pixdim)` with origin 0; we follow nibabel so that both
    /// tools agree.)
    public static func pixdimFallback(dims: SIMD3<Int>, pixdim: SIMD3<Double>) -> Affine {
        let zooms = SIMD3(-pixdim.x, pixdim.y, pixdim.z)
        let centre = SIMD3<Double>(dims &- 1) / 2
        return Affine(linear: .diagonal(zooms), translation: -(zooms * centre))
    }

    /// Largest distance (mm) between where `a` and `b` put the 8 corner voxels of a grid.
    public static func cornerDisagreementMM(_ a: Affine, _ b: Affine, dims: SIMD3<Int>) -> Double {
        let last = SIMD3<Double>(dims &- 1)
        var worst = 0.0
        for c in 0..<8 {
            let v = SIMD3<Double>(c & 1 == 0 ? 0 : last.x, c & 2 == 0 ? 0 : last.y, c & 4 == 0 ? 0 : last.z)
            worst = max(worst, length(a.apply(v) - b.apply(v)))
        }
        return worst
    }
}
