import Foundation
@testable import Registration
import Testing
import TestSupport
import VolumeCore

/// The correlation ratio and the linearity that decide the contrast path.
struct ContrastDecisionTests {
    /// η from its definition, in Double: 1 − (within-bin variance) / (total variance), rooted.
    static func naiveEta(_ x: [Float], _ a: [Float], _ w: [Float], bins: Int) -> Double {
        var groups: [Int: [(Double, Double)]] = [:]
        for n in x.indices where w[n] > 0 {
            groups[min(bins - 1, Int(a[n] * Float(bins))), default: []].append((Double(x[n]), Double(w[n])))
        }
        let all = groups.values.flatMap { $0 }
        let total = all.reduce(0) { $0 + $1.1 }
        let mean = all.reduce(0) { $0 + $1.0 * $1.1 } / total
        let variance = all.reduce(0) { $0 + $1.1 * ($1.0 - mean) * ($1.0 - mean) } / total
        var within = 0.0
        for g in groups.values {
            let wg = g.reduce(0) { $0 + $1.1 }, mg = g.reduce(0) { $0 + $1.0 * $1.1 } / wg
            within += g.reduce(0) { $0 + $1.1 * ($1.0 - mg) * ($1.0 - mg) }
        }
        return max(0, 1 - within / (total * variance)).squareRoot()
    }

    @Test func correlationRatioMatchesItsDefinition() {
        var rng = SeededGenerator(seed: 31)
        let n = 500
        let a = (0..<n).map { _ in Float(rng.uniform(0, 1)) }
        let x = a.map { v in Float(0.5 + 0.4 * sin(7 * Double(v)) + rng.uniform(-0.1, 0.1)) }
        let w = (0..<n).map { _ in Float(rng.uniform(0, 1) < 0.2 ? 0 : 1) }
        let eta = Registration.correlationRatio(scan: x, atlas: a, weights: w)
        // Two Double accumulations of 400 terms in different orders: 1e-9 is rounding, not fit.
        #expect(abs(eta - Self.naiveEta(x, a, w, bins: 32)) < Tolerance.float64Sum)
        #expect(eta > 0.8)   // a (noisy) function of the atlas
    }

    @Test func aFunctionOfTheAtlasScoresOneAndNoiseScoresLittle() {
        var rng = SeededGenerator(seed: 32)
        let a = (0..<2000).map { _ in Float(rng.uniform(0, 1)) }
        let w = [Float](repeating: 1, count: a.count)
        // A function of the atlas's bin (constant within each of the 32 bins): η = 1 exactly.
        let binned = a.map { v in Float(cos(Double(min(31, Int(v * 32))))) }
        #expect(abs(Registration.correlationRatio(scan: binned, atlas: a, weights: w) - 1) < Tolerance.float64Sum)
        let noise = a.map { _ in Float(rng.uniform(0, 1)) }
        #expect(Registration.correlationRatio(scan: noise, atlas: a, weights: w) < 0.25)
        // Linearity tells a positive linear relation (≈ 1) from an inverted one (≈ −1).
        let ncc = { (x: [Float]) -> Double in pearsonReference(x, a) }
        let linear = a.map { 2 * $0 + 1 }, inverted = a.map { 1 - $0 }
        #expect(ncc(linear) / Registration.correlationRatio(scan: linear, atlas: a, weights: w) > 0.99)
        #expect(ncc(inverted) / Registration.correlationRatio(scan: inverted, atlas: a, weights: w) < -0.99)
    }
}

/// Pearson correlation in Double.
func pearsonReference(_ x: [Float], _ a: [Float]) -> Double {
    let n = Double(x.count)
    let mx = x.reduce(0) { $0 + Double($1) } / n, ma = a.reduce(0) { $0 + Double($1) } / n
    var c = 0.0, vx = 0.0, va = 0.0
    for i in x.indices {
        let dx = Double(x[i]) - mx, da = Double(a[i]) - ma
        c += dx * da; vx += dx * dx; va += da * da
    }
    return c / (vx * va).squareRoot()
}
