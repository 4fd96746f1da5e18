import Foundation
import Sampling
import Testing
import TestSupport
import VolumeCore

/// ``AffineCurvature`` against its definition, summed naively in Double.
struct AffineCurvatureTests {
    /// The row-wise closed form and the naive sum add the same Double products in another
    /// order: they agree to a few ulps of the largest entry (1e-12 relative leaves 4 orders
    /// of margin for 10⁴ terms of Float inputs).
    static let summationOrder = 1e-12

    @Test(arguments: [1, 2])
    func matchesTheNaiveSum(threads: Int) {
        let dims = SIMD3(7, 5, 4)
        let count = dims.x * dims.y * dims.z
        var rng = SeededGenerator(seed: 11)
        let weights = (0..<count).map { n in n % 5 == 0 ? Float(0) : Float(rng.uniform(0, 2)) }
        let gradient = (0..<(3 * count)).map { _ in Float(rng.uniform(-1, 1)) }
        let h = AffineCurvature.accumulate(weights: weights, spatialGradient: gradient, dims: dims, threads: threads).matrix
        var naive = [Double](repeating: 0, count: 144)
        for k in 0..<dims.z { for j in 0..<dims.y { for i in 0..<dims.x {
            let n = i + dims.x * (j + dims.y * k)
            let pos = [Double(i), Double(j), Double(k), 1]
            var jac = [Double](repeating: 0, count: 12)
            for r in 0..<3 { for c in 0..<4 { jac[4 * r + c] = Double(gradient[3 * n + r]) * pos[c] } }
            for a in 0..<12 { for b in 0..<12 { naive[a * 12 + b] += Double(weights[n]) * jac[a] * jac[b] } }
        } } }
        let scale = naive.map(abs).max()!
        #expect(zip(h, naive).map { abs($0 - $1) }.max()! <= AffineCurvatureTests.summationOrder * scale)
        // Symmetric, and the same bits for any thread count.
        for a in 0..<12 { for b in 0..<12 { #expect(h[a * 12 + b] == h[b * 12 + a]) } }
        #expect(h == AffineCurvature.accumulate(weights: weights, spatialGradient: gradient, dims: dims, threads: 1).matrix)
    }

    /// The chain to world space is `P·H·Pᵀ` with the gradient's own linear map `P`: for a
    /// rank-one `H = g gᵀ` it must equal `(Pg)(Pg)ᵀ` computed through ``AffineGradient``.
    @Test func chainsToWorldLikeTheGradient() {
        let target = Grid(dims: SIMD3(9, 8, 7), spacingMM: SIMD3(2, 2.5, 3), origin: SIMD3(-5, 4, 1))
        let scan = Grid(dims: SIMD3(6, 6, 6), spacingMM: SIMD3(1.5, 1.5, 4), origin: SIMD3(2, -3, 7))
        let g = [0.3, -1.2, 0.5, 2.0, 0.1, 0.7, -0.4, 1.1, -0.9, 0.2, 0.6, -1.5]
        var outer = [Double](repeating: 0, count: 144)
        for a in 0..<12 { for b in 0..<12 { outer[a * 12 + b] = g[a] * g[b] } }
        let world = AffineCurvature(matrix: outer).atlasToScan(target: target, scan: scan).matrix
        let pg = AffineGradient(rowMajor3x4: g).atlasToScan(target: target, scan: scan).rowMajor3x4
        let scale = pg.map { $0 * $0 }.max()!
        for a in 0..<12 { for b in 0..<12 {
            #expect(abs(world[a * 12 + b] - pg[a] * pg[b]) <= AffineCurvatureTests.summationOrder * scale)
        } }
    }
}
