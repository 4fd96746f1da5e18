/// A 3D scalar image: Float32 voxels on a ``Grid``.
///
/// `voxels[grid.index(i, j, k)]` is the value at voxel (i, j, k); `i` fastest (see ``Grid``).
public struct Volume: Sendable {
    public var grid: Grid
    public var voxels: [Float]

    public init(grid: Grid, voxels: [Float]) {
        precondition(voxels.count == grid.voxelCount, "voxel count \(voxels.count) does not match grid \(grid.dims)")
        self.grid = grid
        self.voxels = voxels
    }

    /// A volume filled with `value`.
    public init(grid: Grid, repeating value: Float = 0) {
        self.grid = grid
        self.voxels = [Float](repeating: value, count: grid.voxelCount)
    }

    public var dims: SIMD3<Int> { grid.dims }
    public var voxelToWorld: Affine { grid.voxelToWorld }
    public var spacingMM: SIMD3<Double> { grid.spacingMM }

    @inlinable
    public subscript(i: Int, j: Int, k: Int) -> Float {
        get { voxels[grid.index(i, j, k)] }
        set { voxels[grid.index(i, j, k)] = newValue }
    }

    /// Smallest and largest voxel value (nil for an empty volume). NaN voxels are skipped.
    public var intensityRange: (min: Float, max: Float)? {
        var lo = Float.infinity, hi = -Float.infinity
        for v in voxels where !v.isNaN {
            lo = Swift.min(lo, v); hi = Swift.max(hi, v)
        }
        return lo <= hi ? (lo, hi) : nil
    }

    /// Number of voxels that are NaN or ±Inf.
    public var nonFiniteCount: Int { voxels.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
}
