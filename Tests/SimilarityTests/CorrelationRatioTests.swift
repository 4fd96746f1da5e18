import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import Similarity

/// The correlation ratio against a naive two-pass Double reference written from the definition.
struct CorrelationRatioTests {
    /// Double sums of ≤ 1,000 Float32 values in [0, 1]: rounding far below this on any CPU.
    static let valueTolerance = 1e-9
    /// Relative error of the analytic gradient against central differences (h = 1e-4) of the
    /// reference: η² is a ratio of quadratics in x, so the truncation error is h² × third
    /// derivative (≲ 1e-7 here) and the Float32 gradient rounds to 6e-8 relative; a wrong term
    /// (a forgotten mean, the sign of A/V²) gives errors of order 1.
    static let gradientTolerance = 1e-3

    /// η² = 1 − A/V by two passes: bin means, then scatters.
    static func reference(_ x: [Double], _ a: [Double], weights w: [Double]?, bins: Int) -> Double {
        let weight = { (n: Int) in w?[n] ?? 1 }
        let bin = { (n: Int) in min(bins - 1, Int(min(1, max(0, a[n])) * Double(bins))) }
        var sw = [Double](repeating: 0, count: bins), sx = sw
        var total = 0.0, sum = 0.0
        for n in x.indices where weight(n) > 0 {
            sw[bin(n)] += weight(n); sx[bin(n)] += weight(n) * x[n]; total += weight(n); sum += weight(n) * x[n]
        }
        let mean = sum / total
        var within = 0.0, scatter = 0.0
        for n in x.indices where weight(n) > 0 {
            within += weight(n) * pow(x[n] - sx[bin(n)] / sw[bin(n)], 2)
            scatter += weight(n) * pow(x[n] - mean, 2)
        }
        return 1 - within / scatter
    }

    @Test(arguments: [false, true], [4, 32])
    func valueMatchesTheDefinition(masked: Bool, bins: Int) {
        let x = SimilarityReference.randomArray(500, seed: 31), a = SimilarityReference.randomArray(500, seed: 32)
        let mask: [Float]? = masked ? SimilarityReference.randomArray(500, seed: 33).map { $0 < 0.4 ? 0 : $0 } : nil
        let r = PreparedCorrelationRatio(atlas: a, mask: mask, bins: bins, threads: 1).evaluate(warped: x)
        #expect(abs(r.value - Self.reference(x.doubles, a.doubles, weights: mask?.doubles, bins: bins)) < Self.valueTolerance)
    }

    @Test(arguments: [false, true])
    func gradientMatchesFiniteDifferences(masked: Bool) {
        let count = 120
        // Few bins, so each holds several voxels and the within-bin term is not trivially 0.
        let x = SimilarityReference.randomArray(count, seed: 34), a = SimilarityReference.randomArray(count, seed: 35)
        let mask: [Float]? = masked ? SimilarityReference.randomArray(count, seed: 36).map { $0 < 0.3 ? 0 : $0 } : nil
        let analytic = PreparedCorrelationRatio(atlas: a, mask: mask, bins: 6, threads: 1).evaluate(warped: x).gradient.doubles
        let numeric = GradientCheck.numerical(x.doubles, h: 1e-4) { Self.reference($0, a.doubles, weights: mask?.doubles, bins: 6) }
        #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: Tolerance.similarityGradientFloor) < Self.gradientTolerance)
    }

    /// Any function of the atlas's bins — inverted, non-monotone — scores 1; noise scores near 0;
    /// a constant scan scores 0 with a zero gradient.
    @Test func aFunctionOfTheAtlasScoresOne() {
        let a = SimilarityReference.randomArray(4000, seed: 37)
        let prepared = PreparedCorrelationRatio(atlas: a, mask: nil, bins: 8, threads: 1)
        let binned = a.map { Float(min(7, Int($0 * 8))) / 7 }
        let function = binned.map { $0 < 0.5 ? 1 - $0 : $0 * $0 }
        #expect(abs(prepared.value(warped: function) - 1) < 1e-9)
        #expect(prepared.value(warped: SimilarityReference.randomArray(4000, seed: 38)) < 0.01)
        let constant = prepared.evaluate(warped: [Float](repeating: 0.3, count: 4000))
        #expect(constant.value == 0 && constant.gradient.allSatisfy { $0 == 0 })
    }

    @Test func identicalBitsForOneAndTwoThreads() {
        let count = 200_000
        let x = SimilarityReference.randomArray(count, seed: 39), a = SimilarityReference.randomArray(count, seed: 40)
        let mask = SimilarityReference.randomArray(count, seed: 41)
        let one = PreparedCorrelationRatio(atlas: a, mask: mask, threads: 1).evaluate(warped: x)
        let two = PreparedCorrelationRatio(atlas: a, mask: mask, threads: 2).evaluate(warped: x)
        #expect(one.value.bitPattern == two.value.bitPattern)
        #expect(one.gradient.bits == two.gradient.bits)
    }
}
