import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import Similarity

/// Normalised gradient fields against a naive Double reference written from the definition.
struct NormalisedGradientFieldsTests {
    /// The measure keeps the atlas's normal in Float32 and sums in Double: |value error| of a
    /// few Float32 roundings per voxel on values in [0, 1].
    static let valueTolerance = 1e-5
    /// Relative error of the analytic gradient against central differences (h = 1e-4) of the
    /// Double reference: the Float32 normal and per-voxel terms (relative 1e-7) and the finite
    /// difference's truncation (h² × third derivative, ≲ 1e-6 here) stay far below it on any
    /// CPU; a wrong adjoint (a sign, a missed border term) gives errors of order 1.
    static let gradientTolerance = 2e-3

    /// The definition: clamped central differences, ε from the atlas's mean gradient magnitude
    /// over the mask's weight, Σ ω (g·n)² / (|g|² + ε²).
    static func reference(_ x: [Double], _ a: [Double], dims d: SIMD3<Int>, weights w: [Double]?, fraction: Double) -> Double {
        func grad(_ v: [Double], _ i: Int, _ j: Int, _ k: Int) -> SIMD3<Double> {
            let at = { (i: Int, j: Int, k: Int) in v[i + d.x * (j + d.y * k)] }
            return SIMD3((at(min(i + 1, d.x - 1), j, k) - at(max(i - 1, 0), j, k)) / 2,
                         (at(i, min(j + 1, d.y - 1), k) - at(i, max(j - 1, 0), k)) / 2,
                         (at(i, j, min(k + 1, d.z - 1)) - at(i, j, max(k - 1, 0))) / 2)
        }
        let count = x.count
        let weight = { (n: Int) in w?[n] ?? 1 }
        var magnitude = 0.0, total = 0.0
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
            let n = i + d.x * (j + d.y * k), h = grad(a, i, j, k)
            magnitude += weight(n) * (h * h).sum().squareRoot(); total += weight(n)
        } } }
        let eps2 = pow(fraction * magnitude / total, 2)
        var value = 0.0
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
            let n = i + d.x * (j + d.y * k), g = grad(x, i, j, k), h = grad(a, i, j, k)
            let nn = h / ((h * h).sum() + eps2).squareRoot()
            let c = (g * nn).sum()
            value += weight(n) / total * c * c / ((g * g).sum() + eps2)
        } } }
        precondition(count == d.x * d.y * d.z)
        return value
    }

    @Test(arguments: [false, true])
    func valueMatchesTheDefinition(masked: Bool) {
        let dims = SIMD3(6, 5, 4)
        let x = SimilarityReference.randomArray(120, seed: 21), a = SimilarityReference.randomArray(120, seed: 22, lo: 1, hi: 3)
        let mask: [Float]? = masked ? SimilarityReference.randomArray(120, seed: 23).map { $0 < 0.4 ? 0 : $0 } : nil
        let r = NormalisedGradientFields(threads: 1).evaluate(warped: x, atlas: Volume(grid: Grid(dims: dims, spacingMM: .one), voxels: a), mask: mask)
        let ref = Self.reference(x.doubles, a.doubles, dims: dims, weights: mask?.doubles, fraction: 0.3)
        #expect(abs(r.value - ref) < Self.valueTolerance)
    }

    /// Every voxel's derivative, borders (the clamped differences' extra terms) included, on
    /// grids with an axis of length 1 and 2 as well.
    @Test(arguments: [SIMD3(5, 4, 6), SIMD3(3, 1, 4), SIMD3(2, 5, 3)], [false, true])
    func gradientMatchesFiniteDifferences(dims: SIMD3<Int>, masked: Bool) {
        let count = dims.x * dims.y * dims.z
        let x = SimilarityReference.randomArray(count, seed: 24), a = SimilarityReference.randomArray(count, seed: 25)
        let mask: [Float]? = masked ? SimilarityReference.randomArray(count, seed: 26).map { $0 < 0.3 ? 0 : 1 } : nil
        let analytic = NormalisedGradientFields(threads: 1)
            .prepare(atlas: Volume(grid: Grid(dims: dims, spacingMM: .one), voxels: a), mask: mask).evaluate(warped: x).gradient.doubles
        let numeric = GradientCheck.numerical(x.doubles, h: 1e-4) {
            Self.reference($0, a.doubles, dims: dims, weights: mask?.doubles, fraction: 0.3)
        }
        #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: Tolerance.similarityGradientFloor) < Self.gradientTolerance)
    }

    /// Contrast-free: the atlas's own image and its inversion `1 − x` (T1 against T2, in the
    /// simplest form) score the same. Tolerance 1e-6: `1 − x` rounds every voxel to Float32
    /// (≤ 6e-8 absolute for values in [0, 1]), which moves each difference by about that.
    @Test func anInvertedContrastScoresTheSame() {
        let grid = Grid(dims: SIMD3(12, 10, 9), spacingMM: .one)
        let atlas = Phantom.blobs(grid: grid)
        let top = atlas.voxels.max()!
        let same = atlas.voxels.map { $0 / top }, inverted = atlas.voxels.map { 1 - $0 / top }
        let prepared = NormalisedGradientFields(threads: 1).prepare(atlas: Volume(grid: grid, voxels: same), mask: nil)
        let a = prepared.evaluate(warped: same).value, b = prepared.evaluate(warped: inverted).value
        #expect(abs(a - b) < 1e-6)
        // And a shifted scan scores lower (the test can fail).
        var shifted = same
        for n in 1..<shifted.count { shifted[n] = same[n - 1] }
        #expect(prepared.evaluate(warped: shifted).value < a - 0.05)
    }

    @Test func identicalBitsForOneAndTwoThreads() {
        let grid = Grid(dims: SIMD3(34, 32, 33), spacingMM: .one)
        let atlas = Phantom.blobs(grid: grid)
        let x = Phantom.noise(grid: grid, seed: 27).voxels
        let mask = Phantom.noise(grid: grid, seed: 28).voxels
        let one = NormalisedGradientFields(threads: 1).evaluate(warped: x, atlas: atlas, mask: mask)
        let two = NormalisedGradientFields(threads: 2).evaluate(warped: x, atlas: atlas, mask: mask)
        #expect(one.value.bitPattern == two.value.bitPattern)
        #expect(one.gradient.bits == two.gradient.bits)
    }
}
