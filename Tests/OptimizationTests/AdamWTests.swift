import Foundation
import Optimization
import Testing
import TestSupport

struct AdamWTests {
    /// Double reference of the documented update.
    static func reference(_ p0: [Double], grads: [[Double]], lr: Double, decay: Double, clip: Double?) -> [Double] {
        var p = p0, m = [Double](repeating: 0, count: p0.count), v = m
        for (t, g0) in grads.enumerated() {
            let norm = g0.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let s = (clip != nil && norm > clip!) ? clip! / norm : 1
            for e in p.indices {
                let g = g0[e] * s
                m[e] = 0.9 * m[e] + 0.1 * g
                v[e] = 0.999 * v[e] + 0.001 * g * g
                let mh = m[e] / (1 - pow(0.9, Double(t + 1))), vh = v[e] / (1 - pow(0.999, Double(t + 1)))
                p[e] -= lr * (mh / (vh.squareRoot() + 1e-8) + decay * p[e])
            }
        }
        return p
    }

    @Test(arguments: [nil, 0.5] as [Double?])
    func matchesTheDocumentedUpdate(clip: Double?) {
        let p0: [Float] = [0.5, -1, 2, 0.25]
        let grads: [[Float]] = [[0.3, -0.2, 1.5, 0], [0.1, 0.4, -0.9, 0.2], [-0.5, 0.05, 0.3, 1]]
        var adam = AdamW<Float>(learningRate: 0.01, weightDecay: 0.1, clipNorm: clip)
        // Two tensors: the first decays, the second does not.
        var p: [[Float]] = [Array(p0[0..<2]), Array(p0[2..<4])]
        for g in grads { adam.update(&p, gradients: [Array(g[0..<2]), Array(g[2..<4])], decays: [true, false]) }
        let gd = grads.map { $0.map(Double.init) }
        let withDecay = Self.reference(p0.map(Double.init), grads: gd, lr: 0.01, decay: 0.1, clip: clip)
        let without = Self.reference(p0.map(Double.init), grads: gd, lr: 0.01, decay: 0, clip: clip)
        #expect(abs(Double(p[0][0]) - withDecay[0]) < Tolerance.float32FewOperations && abs(Double(p[0][1]) - withDecay[1]) < Tolerance.float32FewOperations)
        #expect(abs(Double(p[1][0]) - without[2]) < Tolerance.float32FewOperations && abs(Double(p[1][1]) - without[3]) < Tolerance.float32FewOperations)
        #expect(adam.step == 3)
    }

    @Test func clippingUsesTheGlobalNorm() {
        #expect(AdamW<Float>.globalNorm([[3], [4]]) == 5)
        // With clipping at 1, a gradient scaled by 1000 gives the same update as the gradient at norm 1.
        var a = AdamW<Float>(learningRate: 0.1, weightDecay: 0, clipNorm: 1), b = a
        var pa: [[Float]] = [[1, 1]], pb = pa
        a.update(&pa, gradients: [[0.6, 0.8]], decays: [false])
        b.update(&pb, gradients: [[600, 800]], decays: [false])
        #expect(pa == pb)
    }

    @Test func stateRoundTripsThroughJSON() throws {
        var a = AdamW<Float>()
        var p: [[Float]] = [[1, 2, 3]]
        a.update(&p, gradients: [[0.1, 0.2, 0.3]], decays: [true])
        let b = try JSONDecoder().decode(AdamW<Float>.self, from: JSONEncoder().encode(a))
        #expect(a == b)
    }
}

struct CosineScheduleTests {
    @Test func startsAtTheBaseAndEndsAtTheFloor() {
        let s = CosineSchedule(base: 0.2, floor: 0.1)
        #expect(s.rate(step: 0, of: 10) == 0.2)
        #expect(abs(s.rate(step: 10, of: 10) - 0.02) < Tolerance.float64UnitScale)
        #expect(abs(s.rate(step: 5, of: 10) - 0.11) < Tolerance.float64UnitScale)   // halfway: (0.1 + 0.9·½)·0.2
    }

    @Test func adamInDoubleMatchesAdamInFloatOnTheSameSteps() {
        // The same documented update at two precisions: they agree to Float precision.
        var f = AdamW<Float>(learningRate: 0.05, weightDecay: 0, clipNorm: nil)
        var d = AdamW<Double>(learningRate: 0.05, weightDecay: 0, clipNorm: nil)
        var pf: [[Float]] = [[1, -2, 0.5]], pd: [[Double]] = [[1, -2, 0.5]]
        for t in 0..<20 {
            let g = pd[0].map { 2 * $0 + Double(t) * 0.01 }
            d.update(&pd, gradients: [g], decays: [false])
            f.update(&pf, gradients: [g.map(Float.init)], decays: [false])
        }
        for e in 0..<3 { #expect(abs(Double(pf[0][e]) - pd[0][e]) < Tolerance.float32Accumulation) }
        #expect(d.step == 20)
    }
}
