import Testing
@testable import VolumeCore
import TestSupport

/// The threaded whole-volume kernels of ``ImagePreparation`` give the bits of one thread for
/// any thread count, and those of a naive single-pass reference (written here as the kernels
/// were before they were threaded). The volume is above the size below which they stay on one
/// thread (``ImagePreparation/minimumVoxelsPerPart``).
@Suite struct ImagePreparationThreadsTests {
    static let grid = Grid(dims: SIMD3(70, 61, 53), spacingMM: SIMD3(1.1, 0.9, 1.3), origin: SIMD3(-30, -25, -20))

    static func volume() -> Volume {
        var rng = SeededGenerator(seed: 11)
        var v = Volume(grid: grid)
        let c = SIMD3<Double>(35, 30, 26)
        for n in v.voxels.indices {
            let p = SIMD3<Double>(Double(n % 70), Double((n / 70) % 61), Double(n / (70 * 61)))
            let r = length((p - c) / SIMD3(25, 22, 18))
            v.voxels[n] = r < 1 ? Float(100 * (1 - r) + rng.uniform(0, 30)) : -5   // background at the minimum
        }
        v.voxels[17] = .nan
        return v
    }

    @Test func sameBitsForAnyThreadCount() {
        #expect(Self.grid.voxelCount > 2 * ImagePreparation.minimumVoxelsPerPart)
        let v = Self.volume()
        let one = ImagePreparation.robustNormalise(v, percentiles: (1, 99), threads: 1)
        let com = ImagePreparation.centreOfMass(one.volume, threads: 1)!
        let mask = ImagePreparation.mask(one.volume, threshold: 0.05, dilation: 2, threads: 1)
        let box = ImagePreparation.foregroundBox(one.volume, threshold: 0.05, marginMM: 10, threads: 1)
        for threads in [2, 3, 8] {
            let n = ImagePreparation.robustNormalise(v, percentiles: (1, 99), threads: threads)
            #expect(n.volume.voxels == one.volume.voxels && n.low == one.low && n.high == one.high)
            #expect(ImagePreparation.centreOfMass(one.volume, threads: threads) == com)
            #expect(ImagePreparation.mask(one.volume, threshold: 0.05, dilation: 2, threads: threads) == mask)
            let b = ImagePreparation.foregroundBox(one.volume, threshold: 0.05, marginMM: 10, threads: threads)
            #expect(b.min == box.min && b.max == box.max)
        }
    }

    @Test func matchesNaiveReferences() {
        let v = ImagePreparation.robustNormalise(Self.volume(), percentiles: (1, 99), threads: 2).volume
        let d = v.dims
        // Centre of mass: rows summed in order, as one thread did before.
        var sum = SIMD3<Double>.zero, w = 0.0
        for k in 0..<d.z { for j in 0..<d.y {
            var rowW = 0.0, rowI = 0.0
            for i in 0..<d.x { let x = Double(max(0, v[i, j, k])); rowW += x; rowI += x * Double(i) }
            sum += SIMD3(rowI, Double(j) * rowW, Double(k) * rowW); w += rowW
        } }
        #expect(ImagePreparation.centreOfMass(v, threads: 2) == v.voxelToWorld.apply(sum / w))
        // Mask: threshold, then a cube dilation.
        let m = ImagePreparation.mask(v, threshold: 0.3, dilation: 1, threads: 2)
        var lo = SIMD3<Int>(d.x, d.y, d.z), hi = SIMD3<Int>(-1, -1, -1)
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
            var hit = false
            for c in max(0, k - 1)...min(d.z - 1, k + 1) { for b in max(0, j - 1)...min(d.y - 1, j + 1) {
                for a in max(0, i - 1)...min(d.x - 1, i + 1) where v[a, b, c] > 0.3 { hit = true }
            } }
            #expect(m[v.grid.index(i, j, k)] == (hit ? 1 : 0))
            if v[i, j, k] > 0.3 { lo = pointwiseMin(lo, SIMD3(i, j, k)); hi = pointwiseMax(hi, SIMD3(i, j, k)) }
        } } }
        // Foreground box: the voxel extremes above the threshold, grown by the margin.
        let box = ImagePreparation.foregroundBox(v, threshold: 0.3, marginMM: 0, threads: 2)
        let sub = Grid(dims: hi &- lo &+ 1, voxelToWorld: v.voxelToWorld * Affine.translation(SIMD3<Double>(lo))).worldBoundingBox
        #expect(box.min == sub.min && box.max == sub.max)
    }
}
