import Network
import Testing
import TestSupport
import VolumeCore

/// The closed-form head: the fit recovers a known affine exactly, the ridge holds a degenerate
/// fit at the identity, and the fit's and the barycentres' gradients match central differences.
struct CentroidHeadTests {
    static func points(_ n: Int, seed: UInt64) -> [SIMD3<Double>] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in SIMD3(rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8)) }
    }

    static let known = Affine(rowMajor3x4: [1.05, 0.12, -0.03, 0.10, -0.08, 0.97, 0.05, -0.04, 0.02, -0.06, 1.10, 0.07])

    @Test func fitRecoversAKnownAffineExactly() {
        let head = CentroidHead(channels: 8, featureSize: 2, featureStride: 4, gridSize: 8, ridgeFraction: 0, ridgeFloor: 0)
        let x = Self.points(8, seed: 1)
        let entries = head.affineEntries(atlas: x, scan: x.map(Self.known.apply))
        #expect(GradientCheck.maxRelativeError(entries, Self.known.rowMajor3x4) < Tolerance.float64MatrixAlgebra)
    }

    /// Barycentres all at one point say nothing about the linear part: the ridge makes it the
    /// identity, and the translation carries the point onto its match.
    @Test func ridgeHoldsADegenerateFitAtTheIdentity() {
        let head = CentroidHead(channels: 5, featureSize: 2, featureStride: 4, gridSize: 8)
        let c = SIMD3(0.1, -0.2, 0.3), d = SIMD3(-0.05, 0.15, 0.2)
        let entries = head.affineEntries(atlas: Array(repeating: c, count: 5), scan: Array(repeating: d, count: 5))
        let expected = Affine.translation(d - c).rowMajor3x4
        // Absolute (floor 1): the expected zeros come out at ~1e-14.
        #expect(GradientCheck.maxRelativeError(entries, expected, floor: 1) < Tolerance.float64MatrixAlgebra)
    }

    /// Float64 throughout: central differences with h = 1e-6 are good to ~1e-9 relative
    /// (truncation h² times third derivatives of order 1; rounding 1e-16 / h), so 1e-6 holds on any CPU.
    @Test func fitGradientMatchesFiniteDifferences() {
        // A large ridge fraction, so that the ridge's own gradient term weighs in the check.
        let head = CentroidHead(channels: 6, featureSize: 2, featureStride: 4, gridSize: 8, ridgeFraction: 0.3)
        let x = Self.points(6, seed: 2)
        let y = x.map(Self.known.apply).enumerated().map { $1 + 0.05 * SIMD3(Double($0 % 3) - 1, 0.5, Double($0 % 2)) }
        var rng = SeededGenerator(seed: 3)
        let r = (0..<12).map { _ in rng.uniform(-1, 1) }
        func loss(_ x: [SIMD3<Double>], _ y: [SIMD3<Double>]) -> Double {
            zip(head.affineEntries(atlas: x, scan: y), r).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let (gx, gy) = head.fitGradient(atlas: x, scan: y, entryGradient: r)
        let h = 1e-6
        var analytic: [Double] = [], numeric: [Double] = []
        for k in 0..<6 {
            for c in 0..<3 {
                var xp = x, xm = x; xp[k][c] += h; xm[k][c] -= h
                analytic.append(gx[k][c]); numeric.append((loss(xp, y) - loss(xm, y)) / (2 * h))
                var yp = y, ym = y; yp[k][c] += h; ym[k][c] -= h
                analytic.append(gy[k][c]); numeric.append((loss(x, yp) - loss(x, ym)) / (2 * h))
            }
        }
        #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: 1e-6) < 1e-6)
    }

    /// Features → outputs: the softmax barycentres' adjoint composed with the fit's, for two
    /// scans sharing one atlas (item 2), against central differences of the Float64 entries in
    /// each Float32 feature (step 1e-3, the actual Float32 step used as the divisor; truncation
    /// ~1e-6 relative for features of order 1), bound 1e-4.
    @Test func headBackwardMatchesFiniteDifferences() {
        let head = CentroidHead(channels: 4, featureSize: 3, featureStride: 2, gridSize: 6)
        let f = NetHelp.random(TensorShape5(batch: 3, channels: 4, depth: 3, height: 3, width: 3), seed: 4, lo: -2, hi: 2)
        let r = NetHelp.random(.vector(batch: 2, channels: 12), seed: 5)
        func loss(_ t: Tensor5) -> Double {
            let x = head.barycentres(t, item: 2).points
            var s = 0.0
            for n in 0..<2 {
                let e = head.affineEntries(atlas: x, scan: head.barycentres(t, item: n).points)
                for q in 0..<12 { s += e[q] * Double(r.values[n * 12 + q]) }
            }
            return s
        }
        let df = head.backward(features: f, items: 2, atlasIndex: { _ in 2 }, outputGradient: r)
        let numeric = NetHelp.numerical(f.values, h: 1e-3) { loss(Tensor5(shape: f.shape, values: $0)) }
        #expect(GradientCheck.maxRelativeError(df.values.map(Double.init), numeric, floor: 1e-4) < 1e-4)
        // The outputs are the same entries, in Float32.
        let out = head.forward(features: f, items: 2, atlasIndex: { _ in 2 })
        let e0 = head.affineEntries(atlas: head.barycentres(f, item: 2).points, scan: head.barycentres(f, item: 0).points)
        #expect(Array(out.values[0..<12]) == e0.map(Float.init))
    }
}
