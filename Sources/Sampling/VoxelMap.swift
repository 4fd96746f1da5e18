import VolumeCore

/// The voxel-to-voxel map of a warp: target (atlas) voxel indices `q` ↦ scan voxel coordinates `p`.
///
///     p = scan.worldToVoxel · atlasToScan · target.voxelToWorld · q  =  A·q + b
///
/// `atlasToScan` maps atlas (fixed) world points to scan (moving) world points, RAS+ mm
/// (DESIGN.md), so `warped(q) = scan(p)`. The returned affine holds `A` (`linear`) and `b`
/// (`translation`); the gradient functions of this module differentiate with respect to these
/// 12 numbers, and ``AffineGradient/atlasToScan(target:scan:)`` chains them back to `atlasToScan`.
public func targetVoxelToScanVoxel(target: Grid, scan: Grid, atlasToScan: Affine) -> Affine {
    scan.worldToVoxel * atlasToScan * target.voxelToWorld
}

/// Steps a voxel-to-voxel affine along target rows: for row (j, k) the start point
/// `A·(0, j, k) + b` is computed in Double, then `p(i) = start + i · A[:,0]` in Float
/// (one multiply-add per axis and voxel; no accumulated error along the row).
struct _RowMap {
    let b: SIMD3<Double>
    let c1: SIMD3<Double>
    let c2: SIMD3<Double>
    let dx: Float, dy: Float, dz: Float

    init(_ a: Affine) {
        b = a.translation
        c1 = a.linear.column(1)
        c2 = a.linear.column(2)
        let c0 = a.linear.column(0)
        dx = Float(c0.x); dy = Float(c0.y); dz = Float(c0.z)
    }

    @inline(__always)
    func start(_ j: Int, _ k: Int) -> (Float, Float, Float) {
        let s = b + c1 * Double(j) + c2 * Double(k)
        return (Float(s.x), Float(s.y), Float(s.z))
    }
}

/// A fixed number of chunks for `rows` rows of `rowLength` voxels (about 2 Ki voxels per chunk,
/// small enough that test-sized volumes still split into several chunks).
/// Depends only on the shape, never on the thread count.
@inline(__always)
func _rowChunkCount(rows: Int, rowLength: Int) -> Int {
    max(1, min(rows, rows * rowLength / 2048))
}
