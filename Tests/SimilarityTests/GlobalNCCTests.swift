import Foundation
import Testing
import TestSupport
import VolumeCore
import Similarity

struct GlobalNCCTests {
    static let valueTolerance = 1e-6
    /// Relative error of the analytic gradient against central differences of the Double reference.
    static let gradientTolerance = 1e-3

    @Test(arguments: [false, true])
    func valueMatchesNaivePearson(masked: Bool) {
        let n = 60
        let x = SimilarityReference.randomArray(n, seed: 1), a = SimilarityReference.randomArray(n, seed: 2, lo: 10, hi: 20)
        let mask: [Float]? = masked ? SimilarityReference.randomArray(n, seed: 3).map { $0 < 0.3 ? 0 : $0 } : nil
        let r = ncc(warped: x, atlas: a, mask: mask, threads: 1)
        let ref = SimilarityReference.globalNCC(x.doubles, a.doubles, mask?.doubles ?? [Double](repeating: 1, count: n))
        #expect(abs(r.value - ref) < Self.valueTolerance)
    }

    @Test(arguments: [false, true])
    func gradientMatchesFiniteDifferences(masked: Bool) {
        let n = 5 * 4 * 3
        let x = SimilarityReference.randomArray(n, seed: 4), a = SimilarityReference.randomArray(n, seed: 5)
        let mask: [Float]? = masked ? SimilarityReference.randomArray(n, seed: 6).map { $0 < 0.3 ? 0 : 1 } : nil
        let w = mask?.doubles ?? [Double](repeating: 1, count: n)
        let analytic = ncc(warped: x, atlas: a, mask: mask, threads: 1).gradient.doubles
        let numeric = GradientCheck.numerical(x.doubles, h: 1e-4) { SimilarityReference.globalNCC($0, a.doubles, w) }
        #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: Tolerance.similarityGradientFloor) < Self.gradientTolerance)
        if let mask {
            for k in 0..<n where mask[k] == 0 { #expect(analytic[k] == 0) }
        }
    }

    @Test func affineIntensityChangesKeepTheValue() {
        let a = SimilarityReference.randomArray(100, seed: 7)
        #expect(abs(ncc(warped: a.map { 2 * $0 + 3 }, atlas: a, mask: nil).value - 1) < Tolerance.float32FewOperations)
        #expect(abs(ncc(warped: a.map { -$0 }, atlas: a, mask: nil).value + 1) < Tolerance.float32FewOperations)
    }

    @Test func constantImageGivesZero() {
        let a = SimilarityReference.randomArray(50, seed: 8)
        let r = ncc(warped: [Float](repeating: 4, count: 50), atlas: a, mask: nil)
        #expect(r.value == 0)
        #expect(r.gradient.allSatisfy { $0 == 0 })
    }

    @Test func preparedAndProtocolFormsAgree() {
        let grid = Grid(dims: SIMD3(6, 5, 4), spacingMM: SIMD3(1, 1, 1))
        let atlas = Phantom.blobs(grid: grid)
        let x = Phantom.noise(grid: grid, seed: 9).voxels
        let direct = ncc(warped: x, atlas: atlas.voxels, mask: nil, threads: 1)
        let measure: any SimilarityMeasure = GlobalNCC(threads: 1)
        let viaProtocol = measure.evaluate(warped: x, atlas: atlas, mask: nil)
        let prepared = GlobalNCC(threads: 1).prepare(atlas: atlas, mask: nil)
        #expect(viaProtocol.value == direct.value && viaProtocol.gradient == direct.gradient)
        for _ in 0..<2 {
            let again = prepared.evaluate(warped: x)
            #expect(again.value == direct.value && again.gradient == direct.gradient)
        }
    }

    @Test func identicalBitsForOneAndTwoThreads() {
        // More than one reduction chunk (2^15 voxels).
        let grid = Grid(dims: SIMD3(34, 32, 32), spacingMM: SIMD3(1, 1, 1))
        let a = Phantom.blobs(grid: grid).voxels, x = Phantom.noise(grid: grid, seed: 10).voxels
        let mask = Phantom.noise(grid: grid, seed: 11).voxels
        let one = ncc(warped: x, atlas: a, mask: mask, threads: 1), two = ncc(warped: x, atlas: a, mask: mask, threads: 2)
        #expect(one.value.bitPattern == two.value.bitPattern)
        #expect(one.gradient.bits == two.gradient.bits)
    }
}
