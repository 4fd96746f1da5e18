import VolumeCore

/// Per row `(j, k)` of a grid (`row = j + n_y·k`), one interval of `i` — the part of the row a
/// kernel needs to compute (`lo > hi`: none). The warps take it to sample only where a
/// similarity looks: the mask for global NCC and MI, the mask grown by the window radius for
/// windowed NCC (a window about a mask voxel reads no voxel outside that), so a level whose
/// mask covers 40 % of its grid samples about half of it. Outside the spans the warps write 0.
public struct RowSpans: Sendable, Equatable {
    public let dims: SIMD3<Int>
    /// First and last `i` per row.
    public let lo: [Int32], hi: [Int32]

    /// Every voxel.
    public init(all dims: SIMD3<Int>) {
        self.dims = dims
        lo = [Int32](repeating: 0, count: dims.y * dims.z)
        hi = [Int32](repeating: Int32(dims.x - 1), count: dims.y * dims.z)
    }

    /// The first and last non-zero of `mask` along each row.
    public init(mask: [Float], dims: SIMD3<Int>) {
        precondition(mask.count == dims.x * dims.y * dims.z, "mask has \(mask.count) values, shape \(dims) needs \(dims.x * dims.y * dims.z)")
        self.dims = dims
        var lo = [Int32](repeating: 1, count: dims.y * dims.z), hi = [Int32](repeating: 0, count: dims.y * dims.z)
        for r in 0..<(dims.y * dims.z) {
            let o = r * dims.x
            guard let first = (0..<dims.x).first(where: { mask[o + $0] != 0 }) else { continue }
            let last = (0..<dims.x).last(where: { mask[o + $0] != 0 })!
            lo[r] = Int32(first)
            hi[r] = Int32(last)
        }
        self.lo = lo
        self.hi = hi
    }

    private init(dims: SIMD3<Int>, lo: [Int32], hi: [Int32]) {
        self.dims = dims
        self.lo = lo
        self.hi = hi
    }

    /// The spans of every voxel within `r` (per axis, a box) of a voxel of these spans:
    /// per row, the hull of the spans of the rows within `r` in `j` and `k`, widened by `r` and
    /// clipped to the grid. A superset of the box dilation (a hull, not a union of intervals).
    public func grown(by r: Int) -> RowSpans {
        precondition(r >= 0, "growth must be ≥ 0")
        guard r > 0 else { return self }
        let (nx, ny, nz) = (dims.x, dims.y, dims.z)
        var outLo = [Int32](repeating: 1, count: ny * nz), outHi = [Int32](repeating: 0, count: ny * nz)
        for k in 0..<nz {
            for j in 0..<ny {
                var a = Int32.max, b = Int32.min
                for kk in max(0, k - r)...min(nz - 1, k + r) {
                    for jj in max(0, j - r)...min(ny - 1, j + r) where lo[jj + ny * kk] <= hi[jj + ny * kk] {
                        a = min(a, lo[jj + ny * kk])
                        b = max(b, hi[jj + ny * kk])
                    }
                }
                guard a <= b else { continue }
                outLo[j + ny * k] = max(0, a - Int32(r))
                outHi[j + ny * k] = min(Int32(nx - 1), b + Int32(r))
            }
        }
        return RowSpans(dims: dims, lo: outLo, hi: outHi)
    }

    /// The interval of row `r` (empty when `lo > hi`).
    @inline(__always)
    public func range(_ r: Int) -> Range<Int> {
        let a = Int(lo[r]), b = Int(hi[r])
        return a <= b ? a..<(b + 1) : 0..<0
    }

    /// Voxels covered.
    public var voxelCount: Int { (0..<lo.count).reduce(0) { $0 + range($1).count } }
}
