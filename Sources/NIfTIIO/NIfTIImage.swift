import VolumeCore

/// What to do with NaN or ±Inf voxels found while reading.
public enum NonFinitePolicy: String, Sendable, Codable {
    /// Throw `NIfTIError` of kind `.nonFiniteVoxels`, giving the count.
    case reject
    /// Set them to 0 and report how many in ``NIfTIImage/nonFiniteReplaced``.
    case replaceWithZero
}

/// Options for ``NIfTIReader``.
public struct NIfTIReadOptions: Sendable {
    /// The largest voxel buffer a read may allocate, in bytes: the Float32 copy of the voxels
    /// read, or libnifti's buffer of stored voxels if larger (float64). Default 4 GiB.
    /// Checked against the header *before* anything is allocated.
    public var maxVoxelBytes: Int
    public var nonFinite: NonFinitePolicy
    /// For `.nii.gz`: decompress to the end of the stream so that the gzip CRC is checked
    /// (libnifti stops reading after the voxels and would miss damaged data). Default true.
    public var verifyGzipChecksum: Bool

    public static let defaultMaxVoxelBytes = 4 << 30

    public init(maxVoxelBytes: Int = NIfTIReadOptions.defaultMaxVoxelBytes,
                nonFinite: NonFinitePolicy = .reject, verifyGzipChecksum: Bool = true) {
        self.maxVoxelBytes = maxVoxelBytes
        self.nonFinite = nonFinite
        self.verifyGzipChecksum = verifyGzipChecksum
    }
}

/// A NIfTI image read into Float32: the header, the 3D grid, and every frame's voxels.
///
/// Voxel values are the stored values with `scl_slope`/`scl_inter` applied
/// (`value = slope · stored + inter`; no scaling when the slope is 0 or not finite).
/// `voxels` holds all frames contiguously: index `i + nx·(j + ny·(k + nz·t))` — `i` fastest,
/// then `j`, `k`, frame `t` (DESIGN.md voxel order).
public struct NIfTIImage: Sendable {
    public var header: NIfTIHeader
    /// The 3D grid of every frame; `grid.voxelToWorld == header.voxelToWorld` (RAS+ mm).
    public var grid: Grid
    /// Number of frames (`dim[4]`, 1 for a 3D image).
    public var frameCount: Int
    /// All voxels of all frames, `grid.voxelCount · frameCount` values.
    public var voxels: [Float]
    /// How many NaN/±Inf voxels were set to 0 (only with `.replaceWithZero`).
    public var nonFiniteReplaced: Int

    public init(header: NIfTIHeader, grid: Grid, frameCount: Int, voxels: [Float], nonFiniteReplaced: Int = 0) {
        precondition(voxels.count == grid.voxelCount * frameCount, "voxel count does not match grid × frames")
        self.header = header
        self.grid = grid
        self.frameCount = frameCount
        self.voxels = voxels
        self.nonFiniteReplaced = nonFiniteReplaced
    }

    /// Frame `t` (0-based) as a 3D volume. Traps when `t` is outside `0..<frameCount`.
    public func frame(_ t: Int) -> Volume {
        precondition(t >= 0 && t < frameCount, "frame \(t) is outside 0..<\(frameCount)")
        let n = grid.voxelCount
        return Volume(grid: grid, voxels: Array(voxels[(t * n)..<((t + 1) * n)]))
    }

    /// All frames as 3D volumes.
    public var frames: [Volume] { (0..<frameCount).map(frame) }
}
