import Testing
import VolumeCore
@testable import Sampling
import TestSupport

@Suite struct ResampleTests {
    /// Values tolerance against the Double reference: the kernels step coordinates in Float.
    static let valueTolerance = 1e-4

    @Test(arguments: Interpolation.allCases)
    func identityIsExact(_ mode: Interpolation) {
        let grid = Grid(dims: SIMD3(7, 5, 6), spacingMM: SIMD3(2, 0.5, 1), origin: SIMD3(-3, 4, 10))
        let v = Phantom.noise(grid: grid, seed: 1, lo: -5, hi: 5)
        let out = resample(v, onto: grid, interpolation: mode, threads: 2)
        #expect(bitwiseEqual(out.voxels, v.voxels))
        #expect(out.grid == grid)
    }

    @Test(arguments: Interpolation.allCases)
    func integerShiftsMoveValuesExactly(_ mode: Interpolation) {
        // Dyadic spacings and origin: the composed voxel map is exact in floating point.
        let grid = Grid(dims: SIMD3(8, 6, 7), spacingMM: SIMD3(2, 0.5, 1), origin: SIMD3(-4, 2, 0.25))
        let v = Phantom.noise(grid: grid, seed: 2, lo: 1, hi: 2)
        for shift in [SIMD3(1, 0, 0), SIMD3(-2, 3, 1), SIMD3(0, -1, -3), SIMD3(9, 0, 0)] {
            let t = Affine.translation(SIMD3<Double>(shift) * grid.spacingMM)
            let out = resample(v, onto: grid, atlasToScan: t, interpolation: mode, threads: 2)
            for k in 0..<7 { for j in 0..<6 { for i in 0..<8 {
                let s = SIMD3(i, j, k) &+ shift
                let inside = s.x >= 0 && s.y >= 0 && s.z >= 0 && s.x < 8 && s.y < 6 && s.z < 7
                let expected: Float = inside ? v[s.x, s.y, s.z] : 0
                #expect(out[i, j, k] == expected, "shift \(shift) at \(i),\(j),\(k)")
            } } }
        }
    }

    /// 90° rotations about the centre of a cube are exact permutations of the voxels.
    @Test(arguments: Interpolation.allCases)
    func quarterTurnsArePermutations(_ mode: Interpolation) {
        let n = 6, m = n - 1
        let grid = centredGrid(SIMD3(n, n, n), spacing: SIMD3(1, 1, 1))
        let v = Phantom.noise(grid: grid, seed: 3)
        // atlasToScan rotations with exact entries, and where target voxel (i,j,k) reads from.
        let cases: [(Matrix3, (Int, Int, Int) -> (Int, Int, Int))] = [
            // about x: (x, y, z) -> (x, -z, y)
            (Matrix3(rows: SIMD3(1, 0, 0), SIMD3(0, 0, -1), SIMD3(0, 1, 0)), { i, j, k in (i, m - k, j) }),
            // about y: (x, y, z) -> (z, y, -x)
            (Matrix3(rows: SIMD3(0, 0, 1), SIMD3(0, 1, 0), SIMD3(-1, 0, 0)), { i, j, k in (k, j, m - i) }),
            // about z: (x, y, z) -> (-y, x, z)
            (Matrix3(rows: SIMD3(0, -1, 0), SIMD3(1, 0, 0), SIMD3(0, 0, 1)), { i, j, k in (m - j, i, k) }),
        ]
        for (r, source) in cases {
            let out = resample(v, onto: grid, atlasToScan: Affine(linear: r), interpolation: mode, threads: 2)
            for k in 0..<n { for j in 0..<n { for i in 0..<n {
                let (a, b, c) = source(i, j, k)
                #expect(out[i, j, k] == v[a, b, c])
            } } }
        }
    }

    @Test(arguments: [UInt64(10), 11, 12, 13])
    func linearMatchesNaiveReference(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let scanGrid = centredGrid(SIMD3(9, 11, 7), spacing: SIMD3(1.2, 0.9, 1.5))
        let target = centredGrid(SIMD3(10, 8, 9), spacing: SIMD3(1, 1.1, 1.3))
        let scan = Phantom.noise(grid: scanGrid, seed: seed, lo: -1, hi: 1)
        let t = KnownTransforms.random(&rng, maxDegrees: 40, maxTranslation: 3)
        let out = resample(scan, onto: target, atlasToScan: t, threads: 2)
        let map = targetVoxelToScanVoxel(target: target, scan: scanGrid, atlasToScan: t)
        let ref = Naive.warp(scan, dims: target.dims, map: map)
        #expect(maxAbsDiff(out.voxels, ref) < Self.valueTolerance)
        // The test is not vacuous: many samples are inside, some outside.
        #expect(ref.filter { $0 != 0 }.count > target.voxelCount / 4)
    }

    /// Sample points on the border (last voxel, half a voxel out) follow the zero-padding rule.
    @Test func borderFollowsZeroPadding() {
        let grid = Grid(dims: SIMD3(4, 3, 5), spacingMM: SIMD3(1, 1, 1))
        let scan = Phantom.noise(grid: grid, seed: 4, lo: 1, hi: 2)
        let target = Grid(dims: SIMD3(12, 9, 15), spacingMM: SIMD3(1, 1, 1))
        // p = 0.5·q − 1.25: from −1.25 (outside) past n (outside), with points at −1, −0.75, …
        let map = Affine(linear: .diagonal(SIMD3(0.5, 0.5, 0.5)), translation: SIMD3(-1.25, -1.25, -1.25))
        let out = TrilinearSampler(scan).warp(onto: target, voxelMap: map, threads: 1)
        let ref = Naive.warp(scan, dims: target.dims, map: map)
        #expect(maxAbsDiff(out.voxels, ref) < Tolerance.float32FewOperations)
        // Exactly at p = n − 1 the value is the last voxel; at p = −0.5 half of the first.
        let atLast = TrilinearSampler(scan).value(at: SIMD3(3, 2, 4))
        #expect(atLast == Double(scan[3, 2, 4]))
        let halfOut = TrilinearSampler(scan).value(at: SIMD3(-0.5, 0, 0))
        #expect(abs(halfOut - 0.5 * Double(scan[0, 0, 0])) < Tolerance.float64FewOperations)
        #expect(TrilinearSampler(scan).value(at: SIMD3(-1, 1, 1)) == 0)
        #expect(TrilinearSampler(scan).value(at: SIMD3(1, 3, 1)) == 0)
        #expect(TrilinearSampler(scan).value(at: SIMD3(.nan, 1, 1)) == 0)
    }

    @Test func nearestKeepsOnlyExistingLabels() {
        var rng = SeededGenerator(seed: 20)
        let labels: [Float] = [3, 7, 12, 255]
        let grid = centredGrid(SIMD3(12, 10, 11), spacing: SIMD3(1, 1.5, 1.2))
        var v = Volume(grid: grid)
        for n in 0..<v.voxels.count { v.voxels[n] = labels[Int(rng.next() % 4)] }
        let target = centredGrid(SIMD3(13, 12, 10), spacing: SIMD3(1, 1, 1))
        for _ in 0..<3 {
            let t = KnownTransforms.random(&rng, maxDegrees: 45, maxTranslation: 4)
            let out = resample(v, onto: target, atlasToScan: t, interpolation: .nearest, threads: 2)
            #expect(Set(out.voxels).isSubset(of: Set(labels + [0])))
            // Matches the reference except where a coordinate sits within rounding of a tie.
            let map = targetVoxelToScanVoxel(target: target, scan: grid, atlasToScan: t)
            let ref = Naive.warp(v, dims: target.dims, map: map, nearest: true)
            var mismatches = 0
            for k in 0..<10 { for j in 0..<12 { for i in 0..<13 {
                let n = target.index(i, j, k)
                let p = Naive.point(map, i, j, k) + 0.5
                if Double(out.voxels[n]) != ref[n] && distanceToFace(p) > 1e-4 { mismatches += 1 }
            } } }
            #expect(mismatches == 0)
        }
    }

    @Test(arguments: Interpolation.allCases)
    func threadCountDoesNotChangeBits(_ mode: Interpolation) {
        var rng = SeededGenerator(seed: 30)
        let grid = centredGrid(SIMD3(24, 24, 24), spacing: SIMD3(1, 1, 1))
        let v = Phantom.blobs(grid: grid)
        let t = KnownTransforms.random(&rng)
        let outs = [1, 2, 3].map { resample(v, onto: grid, atlasToScan: t, interpolation: mode, threads: $0) }
        #expect(_rowChunkCount(rows: 24 * 24, rowLength: 24) > 3)
        #expect(bitwiseEqual(outs[0].voxels, outs[1].voxels))
        #expect(bitwiseEqual(outs[0].voxels, outs[2].voxels))
    }

    @Test func worldToWorldResampleUsesIdentity() {
        let scanGrid = centredGrid(SIMD3(9, 9, 9), spacing: SIMD3(1, 1, 1))
        let v = Phantom.blobs(grid: scanGrid)
        let coarse = scanGrid.isotropicCovering(spacingMM: 2)
        let a = resample(v, onto: coarse, threads: 1)
        let b = resample(v, onto: coarse, atlasToScan: .identity, threads: 1)
        #expect(bitwiseEqual(a.voxels, b.voxels))
        #expect(a.grid == coarse)
        // Coarse centres fall on fine centres here (both centred, spacing 2 = 2 voxels).
        #expect(a[0, 0, 0] == v[0, 0, 0] && a[4, 4, 4] == v[8, 8, 8])
    }
}
