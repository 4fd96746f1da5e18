/// A regular 3D voxel grid placed in world space.
///
/// **Conventions** (see DESIGN.md): voxel `(i, j, k)` has linear index
/// `i + nx·(j + ny·k)` (`i` fastest); world space is NIfTI RAS+ millimetres;
/// `voxelToWorld` maps voxel *centres* (integer indices) to world points.
public struct Grid: Equatable, Hashable, Sendable {
    /// Number of voxels along i, j, k. Each is ≥ 1.
    public var dims: SIMD3<Int>
    /// Maps voxel indices (i, j, k) to world RAS+ mm.
    public var voxelToWorld: Affine

    public init(dims: SIMD3<Int>, voxelToWorld: Affine) {
        precondition(dims.x >= 1 && dims.y >= 1 && dims.z >= 1, "grid dimensions must be positive")
        self.dims = dims
        self.voxelToWorld = voxelToWorld
    }

    /// An axis-aligned grid with the given spacing whose voxel (0,0,0) lies at `origin`.
    public init(dims: SIMD3<Int>, spacingMM: SIMD3<Double>, origin: SIMD3<Double> = .zero) {
        self.init(dims: dims, voxelToWorld: Affine(linear: .diagonal(spacingMM), translation: origin))
    }

    public var voxelCount: Int { dims.x * dims.y * dims.z }

    /// Inverse of `voxelToWorld`. Traps if the grid's matrix is singular (readers reject those).
    public var worldToVoxel: Affine {
        guard let inv = voxelToWorld.inverse else { preconditionFailure("singular voxel-to-world matrix") }
        return inv
    }

    /// Distance in mm between neighbouring voxel centres along i, j, k (column norms).
    public var spacingMM: SIMD3<Double> {
        let l = voxelToWorld.linear
        return SIMD3(length(l.column(0)), length(l.column(1)), length(l.column(2)))
    }

    /// Linear index of voxel (i, j, k).
    @inlinable
    public func index(_ i: Int, _ j: Int, _ k: Int) -> Int { i + dims.x * (j + dims.y * k) }

    /// World position of the grid's centre (midpoint of the first and last voxel centres).
    public var centreWorld: SIMD3<Double> {
        voxelToWorld.apply(SIMD3<Double>(dims &- 1) / 2)
    }

    /// World positions of the 8 corner voxel centres.
    public var cornersWorld: [SIMD3<Double>] {
        var out: [SIMD3<Double>] = []
        let last = SIMD3<Double>(dims &- 1)
        for c in 0..<8 {
            let v = SIMD3<Double>(c & 1 == 0 ? 0 : last.x, c & 2 == 0 ? 0 : last.y, c & 4 == 0 ? 0 : last.z)
            out.append(voxelToWorld.apply(v))
        }
        return out
    }

    /// Axis-aligned world bounding box of the voxel centres: (min, max) in mm.
    public var worldBoundingBox: (min: SIMD3<Double>, max: SIMD3<Double>) {
        let c = cornersWorld
        var lo = c[0], hi = c[0]
        for p in c.dropFirst() {
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
        return (lo, hi)
    }

    /// An axis-aligned (RAS) isotropic grid of spacing `spacingMM` that covers this grid's
    /// world bounding box (voxel centres), centred on it.
    public func isotropicCovering(spacingMM s: Double) -> Grid {
        precondition(s > 0, "spacing must be positive")
        let box = worldBoundingBox
        let extent = box.max - box.min
        let n = SIMD3<Int>(Int((extent.x / s).rounded(.down)) + 1,
                           Int((extent.y / s).rounded(.down)) + 1,
                           Int((extent.z / s).rounded(.down)) + 1)
        let centre = (box.min + box.max) / 2
        let origin = centre - SIMD3<Double>(n &- 1) * s / 2
        return Grid(dims: n, spacingMM: SIMD3(repeating: s), origin: origin)
    }
}
