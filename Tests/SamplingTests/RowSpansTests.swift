import Testing
import VolumeCore
@testable import Sampling
import TestSupport

/// ``RowSpans``: the spans of a mask, their growth by a window radius (a superset of the box
/// dilation, checked against a naive dilation), and warps restricted to them (the full warp's
/// bits inside, 0 outside).
@Suite struct RowSpansTests {
    static let dims = SIMD3(13, 11, 9)

    /// A blobby mask with holes and empty rows.
    static func mask(seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let c = SIMD3<Double>(6, 5, 4)
        return (0..<(dims.x * dims.y * dims.z)).map { n in
            let p = SIMD3<Double>(Double(n % dims.x), Double((n / dims.x) % dims.y), Double(n / (dims.x * dims.y)))
            let r = length((p - c) / SIMD3(5, 3.5, 3))
            return r < 1 && rng.uniform(0, 1) > 0.2 ? 1 : 0
        }
    }

    static func contains(_ s: RowSpans, _ i: Int, _ j: Int, _ k: Int) -> Bool {
        s.range(j + dims.y * k).contains(i)
    }

    @Test func spansHoldEveryMaskVoxelAndStartAndEndOnOne() {
        let m = Self.mask(seed: 1)
        let s = RowSpans(mask: m, dims: Self.dims)
        var nonEmpty = 0
        for r in 0..<(Self.dims.y * Self.dims.z) {
            let row = Array(m[(r * Self.dims.x)..<((r + 1) * Self.dims.x)])
            let span = s.range(r)
            if let first = row.firstIndex(of: 1) {
                #expect(span == first..<(row.lastIndex(of: 1)! + 1))
                nonEmpty += 1
            } else {
                #expect(span.isEmpty)
            }
        }
        #expect(nonEmpty > 10 && nonEmpty < Self.dims.y * Self.dims.z, "the mask should have empty and non-empty rows")
        #expect(RowSpans(all: Self.dims).voxelCount == Self.dims.x * Self.dims.y * Self.dims.z)
    }

    @Test(arguments: [1, 2, 3])
    func grownSpansCoverTheBoxDilation(radius r: Int) {
        let m = Self.mask(seed: 2)
        let s = RowSpans(mask: m, dims: Self.dims), g = s.grown(by: r)
        let d = Self.dims
        var dilated = 0
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
            // Naive box dilation: any mask voxel within r per axis.
            var hit = false
            for c in max(0, k - r)...min(d.z - 1, k + r) { for b in max(0, j - r)...min(d.y - 1, j + r) {
                for a in max(0, i - r)...min(d.x - 1, i + r) where m[a + d.x * (b + d.y * c)] != 0 { hit = true }
            } }
            if hit { dilated += 1; #expect(Self.contains(g, i, j, k), "voxel \(i) \(j) \(k) is within \(r) of the mask") }
        } } }
        // A hull, not much more: at most the voxels of the grid, at least the dilation.
        #expect(g.voxelCount >= dilated && g.voxelCount < d.x * d.y * d.z)
        #expect(s.grown(by: 0) == s)
    }

    @Test func warpsOnSpansEqualTheFullWarpInsideAndZeroOutside() {
        let scanGrid = centredGrid(SIMD3(12, 10, 11), spacing: SIMD3(1.5, 1.8, 1.6))
        let target = centredGrid(Self.dims, spacing: SIMD3(1.6, 1.5, 1.7))
        let scan = Phantom.blobs(grid: scanGrid)
        var rng = SeededGenerator(seed: 3)
        let world = KnownTransforms.random(&rng, maxDegrees: 20, maxScale: 0.1, maxTranslation: 2)
        let map = targetVoxelToScanVoxel(target: target, scan: scanGrid, atlasToScan: world)
        let spans = RowSpans(mask: Self.mask(seed: 4), dims: Self.dims).grown(by: 1)
        let sampler = TrilinearSampler(scan)
        for threads in [1, 2] {
            let full = sampler.warpWithGradient(onto: target, voxelMap: map, threads: threads)
            let part = sampler.warpWithGradient(onto: target, voxelMap: map, spans: spans, threads: threads)
            let plain = sampler.warp(onto: target, voxelMap: map, spans: spans, threads: threads)
            var inside = 0
            for n in 0..<target.voxelCount {
                let i = n % Self.dims.x, j = (n / Self.dims.x) % Self.dims.y, k = n / (Self.dims.x * Self.dims.y)
                if Self.contains(spans, i, j, k) {
                    inside += 1
                    #expect(part.warped.voxels[n] == full.warped.voxels[n] && plain.voxels[n] == full.warped.voxels[n])
                    for a in 0..<3 { #expect(part.spatialGradient[3 * n + a] == full.spatialGradient[3 * n + a]) }
                } else {
                    #expect(part.warped.voxels[n] == 0 && plain.voxels[n] == 0)
                    for a in 0..<3 { #expect(part.spatialGradient[3 * n + a] == 0) }
                }
            }
            #expect(inside > 0 && inside < target.voxelCount)
        }
    }
}
