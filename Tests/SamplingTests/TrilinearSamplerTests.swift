import Testing
import VolumeCore
@testable import Sampling
import TestSupport

@Suite struct TrilinearSamplerTests {
    /// Tolerance of analytic (Float kernel) vs finite-difference (Double reference) gradients.
    static let gradientTolerance = 2e-3

    static let scanGrid = centredGrid(SIMD3(12, 10, 11), spacing: SIMD3(1.5, 1.8, 1.6))
    static let targetGrid = centredGrid(SIMD3(11, 12, 10), spacing: SIMD3(1.6, 1.5, 1.7))

    /// A smooth scan and a random warp that keeps most samples inside.
    static func setUp(seed: UInt64) -> (scan: Volume, map: Affine, world: Affine) {
        var rng = SeededGenerator(seed: seed)
        let scan = Phantom.blobs(grid: scanGrid)
        let world = KnownTransforms.random(&rng, maxDegrees: 25, maxScale: 0.1, maxTranslation: 3)
        return (scan, targetVoxelToScanVoxel(target: targetGrid, scan: scanGrid, atlasToScan: world), world)
    }

    static func randomWeights(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(rng.uniform(-1, 1)) }
    }

    @Test func pointGradientMatchesFiniteDifferences() {
        let scan = Phantom.noise(grid: Self.scanGrid, seed: 5, lo: -3, hi: 3)
        let s = TrilinearSampler(scan)
        var rng = SeededGenerator(seed: 6)
        let n = SIMD3<Double>(scan.dims)
        for _ in 0..<200 {
            // Cells from −1 (border, half padded) to n−1; fractions away from the faces.
            let cell = SIMD3((rng.uniform(-1, n.x)).rounded(.down), (rng.uniform(-1, n.y)).rounded(.down),
                             (rng.uniform(-1, n.z)).rounded(.down))
            let p = cell + SIMD3(rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95))
            let (v, g) = s.valueAndGradient(at: p)
            #expect(abs(v - Naive.trilinear(scan, p)) < Tolerance.float64FewOperations)
            let fd = GradientCheck.numerical([p.x, p.y, p.z], h: 1e-3) { x in s.value(at: SIMD3(x[0], x[1], x[2])) }
            #expect(GradientCheck.maxRelativeError([g.x, g.y, g.z], fd, floor: Tolerance.float64GradientFloor) < Tolerance.float64FiniteDifferenceOfLinear)
        }
    }

    @Test func gridKernelMatchesPointSampler() {
        let (scan, map, _) = Self.setUp(seed: 7)
        let s = TrilinearSampler(scan)
        let out = s.warpWithGradient(onto: Self.targetGrid, voxelMap: map, threads: 2)
        // Values: identical to the value-only kernel, bit for bit.
        #expect(bitwiseEqual(out.warped.voxels, s.warp(onto: Self.targetGrid, voxelMap: map, threads: 2).voxels))
        let d = Self.targetGrid.dims
        var checked = 0
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
            let p = Naive.point(map, i, j, k)
            let (v, g) = s.valueAndGradient(at: p)
            let n = Self.targetGrid.index(i, j, k)
            #expect(abs(Double(out.warped.voxels[n]) - v) < Tolerance.float32Interpolated)
            // Float coordinates may fall in the neighbouring cell right next to a face.
            guard distanceToFace(p) > 1e-3 else { continue }
            for r in 0..<3 {
                #expect(abs(Double(out.spatialGradient[3 * n + r]) - g[r]) < Tolerance.float32Interpolated * max(1, abs(g[r])))
            }
            checked += 1
        } } }
        #expect(checked > Self.targetGrid.voxelCount / 2)
    }

    /// On voxel centres (cell faces) the derivative is the one of the cell [p, p+1]: the forward
    /// difference, with 0 beyond the last voxel (zero padding). Exact in Float.
    @Test func onGridGradientIsTheForwardDifference() {
        let grid = Grid(dims: SIMD3(5, 4, 3), spacingMM: SIMD3(1, 1, 1))
        let scan = Phantom.noise(grid: grid, seed: 8, lo: 1, hi: 2)
        let out = TrilinearSampler(scan).warpWithGradient(onto: grid, voxelMap: .identity, threads: 1)
        func v(_ i: Int, _ j: Int, _ k: Int) -> Float { i < 5 && j < 4 && k < 3 ? scan[i, j, k] : 0 }
        for k in 0..<3 { for j in 0..<4 { for i in 0..<5 {
            let n = grid.index(i, j, k)
            #expect(out.warped.voxels[n] == scan[i, j, k])
            #expect(out.spatialGradient[3 * n] == v(i + 1, j, k) - v(i, j, k))
            #expect(out.spatialGradient[3 * n + 1] == v(i, j + 1, k) - v(i, j, k))
            #expect(out.spatialGradient[3 * n + 2] == v(i, j, k + 1) - v(i, j, k))
        } } }
    }

    /// L = Σ c·w: the 12 voxel-map derivatives against central differences of the Double
    /// reference (small step, smooth phantom: few samples cross a cell face).
    @Test(arguments: [UInt64(40), 41, 42])
    func voxelMapGradientMatchesFiniteDifferences(seed: UInt64) {
        let (scan, map, _) = Self.setUp(seed: seed)
        let c = Self.randomWeights(Self.targetGrid.voxelCount, seed: seed + 100)
        let dL = Volume(grid: Self.targetGrid, voxels: c)
        let s = TrilinearSampler(scan)
        let fused = s.affineGradient(dLossdWarped: dL, voxelMap: map, threads: 2)
        let stored = TrilinearSampler.affineGradient(
            dLossdWarped: dL, spatialGradient: s.warpWithGradient(onto: Self.targetGrid, voxelMap: map, threads: 2).spatialGradient,
            threads: 2)
        let theta = map.rowMajor4x4.prefix(12).map { $0 }
        let fd = GradientCheck.numerical(theta, h: 1e-6) { x in
            let w = Naive.warp(scan, dims: Self.targetGrid.dims, map: Affine(rowMajor3x4: x))
            return zip(w, c).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        let scale = fd.map(abs).max()!
        #expect(scale > 1)
        #expect(GradientCheck.maxRelativeError(fused.rowMajor3x4, fd, floor: Tolerance.relativeFloorFloat32 * scale) < Self.gradientTolerance)
        #expect(GradientCheck.maxRelativeError(stored.rowMajor3x4, fd, floor: Tolerance.relativeFloorFloat32 * scale) < Self.gradientTolerance)
    }

    /// Chained to the world-space atlasToScan (RAS+ mm) through both grids' matrices.
    @Test func worldGradientMatchesFiniteDifferences() {
        let (scan, map, world) = Self.setUp(seed: 50)
        let c = Self.randomWeights(Self.targetGrid.voxelCount, seed: 51)
        let dL = Volume(grid: Self.targetGrid, voxels: c)
        let g = TrilinearSampler(scan).affineGradient(dLossdWarped: dL, voxelMap: map, threads: 2)
            .atlasToScan(target: Self.targetGrid, scan: Self.scanGrid)
        let theta = world.rowMajor4x4.prefix(12).map { $0 }
        let fd = GradientCheck.numerical(theta, h: 1e-6) { x in
            let m = targetVoxelToScanVoxel(target: Self.targetGrid, scan: Self.scanGrid, atlasToScan: Affine(rowMajor3x4: x))
            let w = Naive.warp(scan, dims: Self.targetGrid.dims, map: m)
            return zip(w, c).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        let scale = fd.map(abs).max()!
        #expect(GradientCheck.maxRelativeError(g.rowMajor3x4, fd, floor: Tolerance.relativeFloorFloat32 * scale) < Self.gradientTolerance)
    }

    @Test func pulledBackMatchesFiniteDifferencesOfALinearFunction() {
        // L(V) = ⟨G, V⟩ for a fixed G, V = left · M · right: exact chain rule check.
        var rng = SeededGenerator(seed: 60)
        let left = KnownTransforms.random(&rng), right = KnownTransforms.random(&rng), m = KnownTransforms.random(&rng)
        let gv = (0..<12).map { _ in rng.uniform(-1, 1) }
        func loss(_ x: [Double]) -> Double {
            let v = (left * Affine(rowMajor3x4: x) * right).rowMajor4x4
            return zip(v.prefix(12), gv).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let g = AffineGradient(linear: Matrix3(rowMajor: [gv[0], gv[1], gv[2], gv[4], gv[5], gv[6], gv[8], gv[9], gv[10]]),
                               translation: SIMD3(gv[3], gv[7], gv[11]))
        let fd = GradientCheck.numerical(Array(m.rowMajor4x4.prefix(12)), h: 1e-3, loss)
        #expect(GradientCheck.maxRelativeError(g.pulledBack(left: left, right: right).rowMajor3x4, fd) < Tolerance.float64FiniteDifferenceOfLinearSum)
    }

    @Test(arguments: [UInt64(70), 71, 72])
    func adjointSatisfiesTheDotProductIdentity(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let x = Phantom.noise(grid: Self.scanGrid, seed: seed, lo: -1, hi: 1)
        let y = Volume(grid: Self.targetGrid, voxels: Self.randomWeights(Self.targetGrid.voxelCount, seed: seed + 1))
        // Larger translations so that part of the target falls across the scan's border.
        let world = KnownTransforms.random(&rng, maxDegrees: 60, maxTranslation: 6)
        let map = targetVoxelToScanVoxel(target: Self.targetGrid, scan: Self.scanGrid, atlasToScan: world)
        let ax = TrilinearSampler(x).warp(onto: Self.targetGrid, voxelMap: map, threads: 2)
        let aty = trilinearAdjoint(y, scanGrid: Self.scanGrid, voxelMap: map, threads: 2)
        let lhs = zip(ax.voxels, y.voxels).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x.voxels, aty.voxels).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let norm = zip(ax.voxels, y.voxels).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
        #expect(abs(lhs - rhs) <= Tolerance.float32AdjointRelative * norm)
        // And against a plain Double splat.
        let ref = Naive.splat(y, scanDims: Self.scanGrid.dims, map: map)
        #expect(maxAbsDiff(aty.voxels, ref) < Tolerance.float32Splat)
        #expect(ref.contains { $0 != 0 })
    }

    /// Maps whose k-step along a row is 0 or tiny exercise the adjoint's slab windows.
    @Test func adjointHandlesInPlaneAndSteepMaps() {
        let y = Volume(grid: Self.targetGrid, voxels: Self.randomWeights(Self.targetGrid.voxelCount, seed: 80))
        let c = 1 / 2.0.squareRoot()
        let maps = [
            Affine(linear: Matrix3(rows: SIMD3(c, -c, 0), SIMD3(c, c, 0), SIMD3(0, 0, 1)), translation: SIMD3(2, -3, 0.3)),
            Affine(linear: Matrix3(rows: SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(1e-7, 0, 1)), translation: SIMD3(0.5, 0.5, 0.5)),
            Affine(linear: Matrix3(rows: SIMD3(0, 0, 1), SIMD3(0, 1, 0), SIMD3(2.5, 0, 0)), translation: SIMD3(0, 0, -7)),
        ]
        for map in maps {
            let aty = trilinearAdjoint(y, scanGrid: Self.scanGrid, voxelMap: map, threads: 3)
            let ref = Naive.splat(y, scanDims: Self.scanGrid.dims, map: map)
            #expect(maxAbsDiff(aty.voxels, ref) < Tolerance.float32Splat)
        }
    }

    @Test func everyKernelIsBitwiseIdenticalAcrossThreadCounts() {
        var rng = SeededGenerator(seed: 90)
        let grid = centredGrid(SIMD3(24, 22, 20), spacing: SIMD3(1, 1, 1))
        let scan = Phantom.blobs(grid: grid)
        let world = KnownTransforms.random(&rng)
        let map = targetVoxelToScanVoxel(target: grid, scan: grid, atlasToScan: world)
        let dL = Volume(grid: grid, voxels: Self.randomWeights(grid.voxelCount, seed: 91))
        let s = TrilinearSampler(scan)
        let base = s.warpWithGradient(onto: grid, voxelMap: map, threads: 1)
        let fused1 = s.affineGradient(dLossdWarped: dL, voxelMap: map, threads: 1)
        let stored1 = TrilinearSampler.affineGradient(dLossdWarped: dL, spatialGradient: base.spatialGradient, threads: 1)
        let adj1 = trilinearAdjoint(dL, scanGrid: grid, voxelMap: map, threads: 1)
        for t in [2, 3] {
            let o = s.warpWithGradient(onto: grid, voxelMap: map, threads: t)
            #expect(bitwiseEqual(o.warped.voxels, base.warped.voxels))
            #expect(bitwiseEqual(o.spatialGradient, base.spatialGradient))
            #expect(s.affineGradient(dLossdWarped: dL, voxelMap: map, threads: t).rowMajor3x4 == fused1.rowMajor3x4)
            #expect(TrilinearSampler.affineGradient(dLossdWarped: dL, spatialGradient: o.spatialGradient, threads: t)
                .rowMajor3x4 == stored1.rowMajor3x4)
            #expect(bitwiseEqual(trilinearAdjoint(dL, scanGrid: grid, voxelMap: map, threads: t).voxels, adj1.voxels))
        }
    }
}
