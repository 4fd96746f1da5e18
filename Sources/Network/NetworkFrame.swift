import VolumeCore

/// The network's fixed input grid and its normalised frame (DESIGN.md, "Network parameters").
///
/// An isotropic `gridSize³` RAS grid centred on the atlas foreground box. Voxel index `i`
/// (each axis) sits at normalised coordinate `u = (2i − (g − 1)) / (g − 1)` ∈ [−1, 1] and at
/// world point `x = c + h·u` (centre `c`, half-extent `h` in mm): the first and last voxel
/// centres are at ±1 ("align corners"). The network's 12 outputs act in this normalised frame
/// and map *atlas* (output) points to *scan-input* points, like `atlasToScan`.
///
/// Composition: if the network input shows the scan through a starting transform `T₀`
/// (input(u) = scan(T₀·N·u), `N` = normalised → world) and the network predicts `A`, the
/// warped input is `input(A·u) = scan(T₀·N·A·u)`, so the world transform is
/// `atlasToScan = T₀ · N · A · N⁻¹`.
public struct NetworkFrame: Codable, Equatable, Sendable {
    public var gridSize: Int
    /// World centre `c` (mm).
    public var centreMM: SIMD3<Double>
    /// Half-extent `h` (mm): the same along each axis.
    public var halfExtentMM: Double

    public init(gridSize: Int, centreMM: SIMD3<Double>, halfExtentMM: Double) {
        precondition(gridSize >= 2 && halfExtentMM > 0)
        self.gridSize = gridSize
        self.centreMM = centreMM
        self.halfExtentMM = halfExtentMM
    }

    /// The frame covering a world box (e.g. the atlas foreground): centred on it, half-extent
    /// = half its largest side.
    public init(gridSize: Int, covering box: (min: SIMD3<Double>, max: SIMD3<Double>)) {
        let side = box.max - box.min
        self.init(gridSize: gridSize, centreMM: (box.min + box.max) / 2, halfExtentMM: max(side.x, side.y, side.z) / 2)
    }

    /// `N`: normalised coordinates → world mm.
    public var normalisedToWorld: Affine {
        Affine(linear: .diagonal(SIMD3(repeating: halfExtentMM)), translation: centreMM)
    }

    /// Voxel indices of ``grid`` → normalised coordinates.
    public var voxelToNormalised: Affine {
        let s = 2 / Double(gridSize - 1)
        return Affine(linear: .diagonal(SIMD3(repeating: s)), translation: SIMD3(repeating: -1))
    }

    /// The input grid: `gridSize³` voxels, voxel → world = `N · voxelToNormalised`.
    public var grid: Grid {
        Grid(dims: SIMD3(repeating: gridSize), voxelToWorld: normalisedToWorld * voxelToNormalised)
    }

    /// `T₀ · N · A · N⁻¹`: the world `atlasToScan` for a normalised prediction `A` on an input
    /// that showed the scan through `start` (`T₀`).
    public func atlasToScan(normalised a: Affine, start: Affine) -> Affine {
        start * normalisedToWorld * a * normalisedToWorld.inverse!
    }

    /// The normalised affine `A` with `atlasToScan(normalised: A, start:) == t`.
    public func normalised(atlasToScan t: Affine, start: Affine) -> Affine? {
        guard let s = start.inverse else { return nil }
        return normalisedToWorld.inverse! * s * t * normalisedToWorld
    }
}
