import VolumeCore

/// FSL FLIRT's affine matrix file (`flirt -omat x.mat`): four lines of four numbers.
///
/// **Convention.** FLIRT's matrix maps the *input* (scan, moving) image to the *reference*
/// (atlas) image — the push direction, the inverse of ours — and acts on FSL's "scaled voxel"
/// coordinates rather than on world coordinates. For an image with grid `g` (dims `n`,
/// pixdims `p` = the column norms of `voxelToWorld`), FSL coordinates are voxel indices times
/// pixdims, with the first axis mirrored when `det(voxelToWorld) > 0` (FSL stores such
/// images "radiologically"):
///
///     S_g = [ -p.x 0 0 (n.x-1)·p.x ; 0 p.y 0 0 ; 0 0 p.z 0 ]   when det(voxelToWorld) > 0
///     S_g = diag(p.x, p.y, p.z)                                 otherwise
///
/// and the FLIRT matrix is
///
///     flirt = S_atlas · V_atlas⁻¹ · atlasToScan⁻¹ · V_scan · S_scan⁻¹
///
/// with `V = voxelToWorld`. Reading and writing therefore both need the two images' grids;
/// the same numbers mean a different transform for other images. Example: identity
/// `atlasToScan`, both images RAS 1 mm on the same `n`-voxel grid → `flirt` is the identity,
/// but a scan grid shifted by one voxel along i gives a FLIRT x translation of −1 mm (the
/// mirrored axis), not +1.
public enum FSLTransform {
    /// FSL's scaled-voxel map `S_g`: voxel indices (i, j, k) → FSL mm (see the type's notes).
    public static func scaledVoxelMap(_ grid: Grid) -> Affine {
        let p = grid.spacingMM
        if grid.voxelToWorld.determinant > 0 {
            return Affine(linear: .diagonal(SIMD3(-p.x, p.y, p.z)),
                          translation: SIMD3(Double(grid.dims.x - 1) * p.x, 0, 0))
        }
        return Affine.scaling(p)
    }

    /// The FLIRT matrix (scan FSL mm → atlas FSL mm) for `atlasToScan` (RAS, atlas→scan).
    /// Nil when `atlasToScan` or a grid's matrix is singular.
    public static func flirtMatrix(atlasToScan: Affine, atlasGrid: Grid, scanGrid: Grid) -> Affine? {
        guard let scanToAtlas = atlasToScan.inverse, let atlasWorldToVoxel = atlasGrid.voxelToWorld.inverse,
              let scanFSLToVoxel = scaledVoxelMap(scanGrid).inverse else { return nil }
        return scaledVoxelMap(atlasGrid) * atlasWorldToVoxel * scanToAtlas * scanGrid.voxelToWorld * scanFSLToVoxel
    }

    /// The `atlasToScan` (RAS, atlas→scan) that a FLIRT matrix describes for these grids.
    /// Nil when a matrix involved is singular.
    public static func atlasToScan(flirt: Affine, atlasGrid: Grid, scanGrid: Grid) -> Affine? {
        guard let flirtInverse = flirt.inverse, let atlasWorldToVoxel = atlasGrid.voxelToWorld.inverse,
              let scanFSLToVoxel = scaledVoxelMap(scanGrid).inverse else { return nil }
        return scanGrid.voxelToWorld * scanFSLToVoxel * flirtInverse * scaledVoxelMap(atlasGrid) * atlasWorldToVoxel
    }

    /// The file text for `atlasToScan` (RAS, atlas→scan) between these grids.
    public static func encode(_ atlasToScan: Affine, atlasGrid: Grid, scanGrid: Grid, file: String = "FSL matrix") throws -> String {
        let t = try TextParsing.checkedInvertible(atlasToScan, file: file, place: nil)
        let g = try requireGrids(atlasGrid, scanGrid, file: file, format: "FSL", reading: false)
        guard let m = flirtMatrix(atlasToScan: t, atlasGrid: g.atlas, scanGrid: g.scan) else {
            preconditionFailure("invertibility checked above")
        }
        return TextParsing.rows4x4(m)
    }

    /// The `atlasToScan` (RAS, atlas→scan) in FLIRT matrix text, given the two grids.
    public static func decode(_ text: String, file: String, atlasGrid: Grid?, scanGrid: Grid?) throws -> Affine {
        let lines = TextParsing.lines(text, stripComments: true)
        let m = try TextParsing.matrix4x4(lines[...], file: file, what: "an FSL matrix has 4 rows of 4 numbers")
        if lines.count > 4 {
            throw TransformFileError(file: file, place: lines[4].place, problem: "unexpected text after the 4×4 matrix",
                                     remedy: "an FSL matrix has exactly 4 rows of 4 numbers")
        }
        let g = try requireGrids(atlasGrid, scanGrid, file: file, format: "FSL", reading: true)
        guard let t = atlasToScan(flirt: m, atlasGrid: g.atlas, scanGrid: g.scan) else {
            preconditionFailure("invertibility checked above")
        }
        return t
    }
}
