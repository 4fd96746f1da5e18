import Network
import Testing
import TestSupport
import VolumeCore

/// Finite-difference checks of GroupNorm, LeakyReLU, AveragePool and Dense.
struct LayerTests {
    static let gradientTolerance = 2e-3
    static let gradientFloor = 1e-2

    static func check(_ analytic: [Float], _ numeric: [Double], _ what: Comment) {
        let e = GradientCheck.maxRelativeError(NetHelp.doubles(analytic), numeric, floor: gradientFloor)
        #expect(e < gradientTolerance, what)
    }

    @Test(arguments: [1, 2, 4])
    func groupNormBackwardMatchesFiniteDifferences(groups: Int) {
        var norm = GroupNorm(channels: 4, groups: groups)
        norm.scale = NetHelp.randomArray(4, seed: 1, lo: 0.5, hi: 1.5)
        norm.shift = NetHelp.randomArray(4, seed: 2)
        let x = NetHelp.random(TensorShape5(batch: 2, channels: 4, depth: 2, height: 3, width: 3), seed: 3, lo: -2, hi: 2)
        let r = NetHelp.random(x.shape, seed: 4)
        let g = norm.backward(input: x, outputGradient: r, threads: 2)
        let h = 2e-2
        Self.check(g.input.values, NetHelp.numerical(x.values, h: h) { v in
            NetHelp.loss(norm.forward(Tensor5(shape: x.shape, values: v), threads: 1), r)
        }, "groups \(groups): input")
        Self.check(g.scale, NetHelp.numerical(norm.scale, h: h) { v in
            var n = norm; n.scale = v; return NetHelp.loss(n.forward(x, threads: 1), r)
        }, "groups \(groups): scale")
        Self.check(g.shift, NetHelp.numerical(norm.shift, h: h) { v in
            var n = norm; n.shift = v; return NetHelp.loss(n.forward(x, threads: 1), r)
        }, "groups \(groups): shift")
    }

    @Test func groupNormNormalisesEachGroup() {
        let norm = GroupNorm(channels: 4, groups: 2)
        let x = NetHelp.random(TensorShape5(batch: 1, channels: 4, depth: 3, height: 3, width: 3), seed: 5, lo: 3, hi: 9)
        let y = norm.forward(x, threads: 1)
        for g in 0..<2 {
            let v = y.values[(g * 54)..<(g * 54 + 54)].map(Double.init)
            let mean = v.reduce(0, +) / 54
            let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 54
            #expect(abs(mean) < Tolerance.float32Accumulation && abs(variance - 1) < Tolerance.groupNormVariance)
        }
    }

    @Test func groupNormIsBitIdenticalForEveryThreadCount() {
        let norm = GroupNorm(channels: 8, groups: 4)
        let x = NetHelp.random(TensorShape5(batch: 3, channels: 8, depth: 6, height: 5, width: 7), seed: 6)
        let r = NetHelp.random(x.shape, seed: 7)
        let y1 = norm.forward(x, threads: 1), g1 = norm.backward(input: x, outputGradient: r, threads: 1)
        for t in [2, 3] {
            #expect(norm.forward(x, threads: t) == y1)
            let g = norm.backward(input: x, outputGradient: r, threads: t)
            #expect(g.input == g1.input && g.scale == g1.scale && g.shift == g1.shift)
        }
    }

    @Test func leakyReLUBackwardMatchesFiniteDifferences() {
        let act = LeakyReLU(slope: 0.2)
        // Keep inputs away from the kink at 0 so that central differences do not straddle it.
        var x = NetHelp.random(TensorShape5(batch: 2, channels: 3, depth: 2, height: 2, width: 3), seed: 8)
        x.values = x.values.map { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 }
        let r = NetHelp.random(x.shape, seed: 9)
        let dx = act.backward(input: x, outputGradient: r, threads: 2)
        Self.check(dx.values, NetHelp.numerical(x.values, h: 1e-2) { v in
            NetHelp.loss(act.forward(Tensor5(shape: x.shape, values: v), threads: 1), r)
        }, "LeakyReLU input")
        #expect(act.forward(Tensor5(shape: .vector(batch: 1, channels: 3), values: [-2, 0, 3]), threads: 1).values == [-0.4, 0, 3])
    }

    @Test func globalAveragePoolBackwardMatchesFiniteDifferences() {
        let pool = AveragePool()
        let x = NetHelp.random(TensorShape5(batch: 2, channels: 3, depth: 2, height: 3, width: 2), seed: 10)
        let r = NetHelp.random(.vector(batch: 2, channels: 3), seed: 11)
        let y = pool.forward(x)
        #expect(y.shape == .vector(batch: 2, channels: 3))
        #expect(abs(Double(y.values[0]) - NetHelp.doubles(Array(x.values[0..<12])).reduce(0, +) / 12) < Tolerance.float32FewOperations)
        Self.check(pool.backward(inputShape: x.shape, outputGradient: r).values, NetHelp.numerical(x.values, h: 1e-2) { v in
            NetHelp.loss(pool.forward(Tensor5(shape: x.shape, values: v)), r)
        }, "pool input")
    }

    @Test func cellAveragePoolMatchesNaiveMeansAndFiniteDifferences() {
        let pool = AveragePool(outputSize: 2)
        let shape = TensorShape5(batch: 2, channels: 3, depth: 4, height: 2, width: 6)
        let x = NetHelp.random(shape, seed: 16)
        let y = pool.forward(x)
        #expect(y.shape == .vector(batch: 2, channels: 24))
        // Naive: cell (n, c, cz, cy, cx) is the mean of its 2×1×3 block.
        for n in 0..<2 {
            for c in 0..<3 {
                for cz in 0..<2 {
                    for cy in 0..<2 {
                        for cx in 0..<2 {
                            var sum = 0.0
                            for z in (2 * cz)..<(2 * cz + 2) {
                                for w in (3 * cx)..<(3 * cx + 3) {
                                    sum += Double(x.values[(((n * 3 + c) * 4 + z) * 2 + cy) * 6 + w])
                                }
                            }
                            let got = Double(y.values[(n * 3 + c) * 8 + (cz * 2 + cy) * 2 + cx])
                            #expect(abs(got - sum / 6) < Tolerance.float32FewOperations)
                        }
                    }
                }
            }
        }
        // Pooling to the input's own size is a plain flatten.
        let cube = NetHelp.random(TensorShape5(batch: 1, channels: 2, depth: 2, height: 2, width: 2), seed: 17)
        #expect(AveragePool(outputSize: 2).forward(cube).values == cube.values)
        let r = NetHelp.random(.vector(batch: 2, channels: 24), seed: 18)
        Self.check(pool.backward(inputShape: shape, outputGradient: r).values, NetHelp.numerical(x.values, h: 1e-2) { v in
            NetHelp.loss(pool.forward(Tensor5(shape: shape, values: v)), r)
        }, "cell pool input")
    }

    @Test func denseBackwardMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 12)
        var dense = Dense(inputs: 5, outputs: 4, leakySlope: 0.2, using: &rng)
        dense.bias = NetHelp.randomArray(4, seed: 13)
        let x = NetHelp.random(.vector(batch: 3, channels: 5), seed: 14)
        let r = NetHelp.random(.vector(batch: 3, channels: 4), seed: 15)
        let g = dense.backward(input: x, outputGradient: r)
        Self.check(g.input.values, NetHelp.numerical(x.values, h: 1e-2) { v in
            NetHelp.loss(dense.forward(Tensor5(shape: x.shape, values: v)), r)
        }, "dense input")
        Self.check(g.weights, NetHelp.numerical(dense.weights, h: 1e-2) { w in
            var d = dense; d.weights = w; return NetHelp.loss(d.forward(x), r)
        }, "dense weights")
        Self.check(g.bias, NetHelp.numerical(dense.bias, h: 1e-2) { b in
            var d = dense; d.bias = b; return NetHelp.loss(d.forward(x), r)
        }, "dense bias")
        #expect(Dense.zeros(inputs: 5, outputs: 4).forward(x).values.allSatisfy { $0 == 0 })
    }
}
