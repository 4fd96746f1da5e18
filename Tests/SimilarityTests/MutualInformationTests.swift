import Foundation
import Testing
import TestSupport
import VolumeCore
import Similarity

/// Mattes MI against a naive Double reference written from the formula (no shared code).
struct MutualInformationTests {
    /// The reference sums in Double in voxel order, the measure in chunks: they agree to
    /// rounding of sums of ~10² terms of size ≤ 1 (1e-12), with a wide margin.
    static let valueTolerance = 1e-9

    static func bspline(_ u: Double) -> Double {
        let a = abs(u)
        if a < 1 { return 2.0 / 3 - a * a + a * a * a / 2 }
        if a < 2 { return (2 - a) * (2 - a) * (2 - a) / 6 }
        return 0
    }

    /// MI straight from the definition: hard atlas bins, a cubic B-spline window on the warped side.
    static func reference(_ x: [Double], _ a: [Double], _ w: [Double], bins b: Int) -> Double {
        var p = [[Double]](repeating: [Double](repeating: 0, count: b), count: b)
        let total = w.reduce(0, +)
        for n in x.indices where w[n] > 0 {
            let ab = min(b - 1, Int(min(1, max(0, a[n])) * Double(b)))
            let xi = 1 + min(1, max(0, x[n])) * Double(b - 4)
            for s in 0..<b { p[ab][s] += w[n] * bspline(Double(s) - xi) / total }
        }
        var pa = [Double](repeating: 0, count: b), ps = pa
        for i in 0..<b { for s in 0..<b { pa[i] += p[i][s]; ps[s] += p[i][s] } }
        var mi = 0.0
        for i in 0..<b { for s in 0..<b where p[i][s] > 0 { mi += p[i][s] * log(p[i][s] / (pa[i] * ps[s])) } }
        return mi
    }

    static func masks(_ n: Int, masked: Bool) -> [Float]? {
        masked ? SimilarityReference.randomArray(n, seed: 13).map { $0 < 0.3 ? 0 : $0 } : nil
    }

    @Test(arguments: [false, true])
    func valueMatchesTheDefinition(masked: Bool) {
        let n = 400
        let x = SimilarityReference.randomArray(n, seed: 11), a = SimilarityReference.randomArray(n, seed: 12)
        let mask = Self.masks(n, masked: masked)
        let r = MattesMI(bins: 16, threads: 1).prepare(atlas: Volume(grid: Grid(dims: SIMD3(n, 1, 1), spacingMM: .one), voxels: a), mask: mask)
            .evaluate(warped: x)
        let ref = Self.reference(x.doubles, a.doubles, mask?.doubles ?? [Double](repeating: 1, count: n), bins: 16)
        #expect(abs(r.value - ref) < Self.valueTolerance, "\(r.value) vs \(ref)")
    }

    /// The analytic gradient against central differences of the Double reference. Step 1e-5 of
    /// a value on [0, 1] moves a voxel by 3e-4 of a bin: truncation ~h² (1e-10) and rounding
    /// ~1e-16/h (1e-11) are far below Float32's storage of the gradient (relative 6e-8); the
    /// tolerance is ``Tolerance/float32FiniteDifference`` with entries below 1e-6 of the
    /// largest compared absolutely.
    @Test(arguments: [false, true])
    func gradientMatchesFiniteDifferences(masked: Bool) {
        let n = 120
        // A structured pair (the scan a non-monotonic function of the atlas plus noise), so the
        // joint histogram is far from uniform and every gradient term matters.
        let a = SimilarityReference.randomArray(n, seed: 14)
        let noise = SimilarityReference.randomArray(n, seed: 15, lo: -0.05, hi: 0.05)
        let x = zip(a, noise).map { v, e in Float(min(0.98, max(0.02, 0.5 + 0.4 * sin(6 * Double(v)) + Double(e)))) }
        let mask = Self.masks(n, masked: masked)
        let w = mask?.doubles ?? [Double](repeating: 1, count: n)
        let atlas = Volume(grid: Grid(dims: SIMD3(n, 1, 1), spacingMM: .one), voxels: a)
        let analytic = MattesMI(bins: 12, threads: 1).prepare(atlas: atlas, mask: mask).evaluate(warped: x).gradient.doubles
        let numeric = GradientCheck.numerical(x.doubles, h: 1e-5) { Self.reference($0, a.doubles, w, bins: 12) }
        let largest = numeric.map(abs).max()!
        #expect(largest > 0)
        #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: Tolerance.relativeFloorFloat64Reference * largest) < Tolerance.float32FiniteDifference)
        if let mask { for k in 0..<n where mask[k] == 0 { #expect(analytic[k] == 0) } }
    }

    @Test func sameBitsForAnyThreadCount() {
        let grid = Grid(dims: SIMD3(40, 30, 35), spacingMM: .one)   // 42,000 voxels: two chunks
        let atlas = Phantom.noise(grid: grid, seed: 16)
        let x = Phantom.noise(grid: grid, seed: 17).voxels
        let one = MattesMI(threads: 1).prepare(atlas: atlas, mask: nil).evaluate(warped: x)
        let two = MattesMI(threads: 2).prepare(atlas: atlas, mask: nil).evaluate(warped: x)
        #expect(one.value == two.value && one.gradient == two.gradient)
    }

    /// The point of the measure: an inverted (T2-like) rendering of the atlas scores as high as
    /// the atlas itself, where NCC turns negative; independent noise scores near 0.
    @Test func invertedContrastScoresLikeTheSameContrast() {
        let grid = Grid(dims: SIMD3(24, 20, 18), spacingMM: .one)
        var atlas = Phantom.blobs(grid: grid)
        let r = atlas.intensityRange!
        atlas.voxels = atlas.voxels.map { ($0 - r.min) / (r.max - r.min) }
        let mi = MattesMI(threads: 1).prepare(atlas: atlas, mask: nil)
        let same = mi.normalised(warped: atlas.voxels)
        let inverted = mi.normalised(warped: atlas.voxels.map { 1 - $0 })
        let noise = mi.normalised(warped: Phantom.noise(grid: grid, seed: 18).voxels)
        #expect(same > 0.5)
        #expect(abs(inverted - same) < 0.05, "inverted \(inverted), same \(same)")
        #expect(noise < 0.2 * same, "noise \(noise)")
        #expect(GlobalNCC(threads: 1).prepare(atlas: atlas, mask: nil).evaluate(warped: atlas.voxels.map { 1 - $0 }).value < -0.9)
    }
}
