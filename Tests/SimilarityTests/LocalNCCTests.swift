import Foundation
import Testing
import TestSupport
import VolumeCore
import Similarity

struct LocalNCCTests {
    /// Float32 window sums of ≤ 343 values in [0, 1].
    static let boxSumTolerance = 1e-4
    static let valueTolerance = 1e-5
    /// Relative error of the analytic gradient against central differences of the Double reference.
    static let gradientTolerance = 2e-3


    @Test(arguments: WindowedSumMethod.allCases, [0, 1, 2, 5, 9])
    func boxSumsMatchDirectWindows(method: WindowedSumMethod, radius: Int) {
        let dims = SIMD3(6, 5, 7)
        let v = SimilarityReference.randomArray(210, seed: 1)
        let window = BoxWindow(dims: dims, radius: radius, method: method)
        let ref = SimilarityReference.boxSums(v.doubles, dims: dims, radius: radius)
        #expect(SimilarityReference.maxAbsDifference(window.sums(v, threads: 1), ref.sums) < Self.boxSumTolerance)
        #expect(window.counts.doubles == ref.counts)
    }

    @Test func bothMethodsAgreeOnAPhantom() {
        let grid = Grid(dims: SIMD3(16, 12, 14), spacingMM: SIMD3(1, 1, 1))
        let v = Phantom.blobs(grid: grid).voxels.map { $0 / 100 }
        for r in [2, 4] {
            let a = BoxWindow(dims: grid.dims, radius: r, method: .runningSums).sums(v)
            let b = BoxWindow(dims: grid.dims, radius: r, method: .fft).sums(v)
            #expect(zip(a, b).map { abs($0 - $1) }.max()! < Float(Tolerance.float32FFT))
        }
    }

    @Test(arguments: WindowedSumMethod.allCases, [false, true])
    func valueMatchesTheDefinition(method: WindowedSumMethod, masked: Bool) {
        let dims = SIMD3(6, 5, 4)
        let x = SimilarityReference.randomArray(120, seed: 2), a = SimilarityReference.randomArray(120, seed: 3, lo: 1, hi: 3)
        let mask: [Float]? = masked ? SimilarityReference.randomArray(120, seed: 4).map { $0 < 0.4 ? 0 : $0 } : nil
        let measure = LocalNCC(radius: 1, method: method, threads: 1)
        let r = measure.evaluate(warped: x, atlas: Volume(grid: Grid(dims: dims, spacingMM: .one), voxels: a), mask: mask)
        let ref = SimilarityReference.localNCC(x.doubles, a.doubles, dims: dims, radius: 1, epsilon: 1e-5, weights: mask?.doubles)
        #expect(abs(r.value - ref) < Self.valueTolerance)
    }

    @Test(arguments: WindowedSumMethod.allCases, [false, true])
    func gradientMatchesFiniteDifferences(method: WindowedSumMethod, masked: Bool) {
        let dims = SIMD3(5, 4, 6)
        let count = 120
        let x = SimilarityReference.randomArray(count, seed: 5), a = SimilarityReference.randomArray(count, seed: 6)
        let mask: [Float]? = masked ? SimilarityReference.randomArray(count, seed: 7).map { $0 < 0.3 ? 0 : 1 } : nil
        for radius in [1, 2] {
            let prepared = LocalNCC(radius: radius, method: method, threads: 1)
                .prepare(atlas: Volume(grid: Grid(dims: dims, spacingMM: .one), voxels: a), mask: mask)
            let analytic = prepared.evaluate(warped: x).gradient.doubles
            let numeric = GradientCheck.numerical(x.doubles, h: 1e-4) {
                SimilarityReference.localNCC($0, a.doubles, dims: dims, radius: radius, epsilon: 1e-5, weights: mask?.doubles)
            }
            #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: Tolerance.similarityGradientFloor) < Self.gradientTolerance, "r = \(radius)")
        }
    }

    @Test func identicalImagesScoreNearOne() {
        let grid = Grid(dims: SIMD3(10, 9, 8), spacingMM: .one)
        let v = Phantom.noise(grid: grid, seed: 8)
        let r = LocalNCC(radius: 2).evaluate(warped: v.voxels, atlas: v, mask: nil)
        #expect(r.value > 0.999 && r.value <= 1)
        // At the maximum, the gradient vanishes.
        #expect(r.gradient.map { abs($0) }.max()! < Float(Tolerance.float32Accumulation))
    }

    @Test(arguments: WindowedSumMethod.allCases)
    func identicalBitsForOneAndTwoThreads(method: WindowedSumMethod) {
        let grid = Grid(dims: SIMD3(34, 32, 32), spacingMM: .one)
        let atlas = Phantom.blobs(grid: grid)
        let x = Phantom.noise(grid: grid, seed: 9).voxels
        let mask = Phantom.noise(grid: grid, seed: 10).voxels
        let one = LocalNCC(radius: 2, method: method, threads: 1).evaluate(warped: x, atlas: atlas, mask: mask)
        let two = LocalNCC(radius: 2, method: method, threads: 2).evaluate(warped: x, atlas: atlas, mask: mask)
        #expect(one.value.bitPattern == two.value.bitPattern)
        #expect(one.gradient.bits == two.gradient.bits)
    }
}

struct LocalNCCReweightingTests {
    /// Changing only the mask reuses the atlas window sums: same value and gradient, bit for bit,
    /// as preparing the atlas again with the new mask.
    @Test func reweightedEqualsAFreshPreparation() {
        let dims = SIMD3(7, 6, 5)
        let count = 210
        let x = SimilarityReference.randomArray(count, seed: 11), a = SimilarityReference.randomArray(count, seed: 12)
        let first: [Float] = SimilarityReference.randomArray(count, seed: 13).map { $0 < 0.2 ? 0 : 1 }
        let second = SimilarityReference.randomArray(count, seed: 14).map { $0 < 0.5 ? 0 : $0 }
        let atlas = Volume(grid: Grid(dims: dims, spacingMM: .one), voxels: a)
        let measure = LocalNCC(radius: 2, threads: 2)
        let reweighted = measure.prepare(atlas: atlas, mask: first).reweighted(mask: second).evaluate(warped: x)
        let fresh = measure.prepare(atlas: atlas, mask: second).evaluate(warped: x)
        #expect(reweighted.value == fresh.value)
        #expect(reweighted.gradient == fresh.gradient)
        // And the mask matters (the test could fail).
        #expect(measure.prepare(atlas: atlas, mask: first).evaluate(warped: x).value != fresh.value)
    }
}
