import Network
import Testing
import TestSupport
import VolumeCore

struct Conv3DTests {
    /// Relative error of analytic gradients against central differences through Float32.
    static let gradientTolerance = 2e-3
    static let gradientFloor = 1e-2

    /// Direct convolution in Double (the definition in ``Conv3D``'s doc comment).
    static func naive(_ conv: Conv3D, _ x: Tensor5) -> [Double] {
        let o = conv.outputShape(for: x.shape), s = conv.stride
        var y = [Double](repeating: 0, count: o.count)
        for n in 0..<o.batch {
            for oc in 0..<o.channels {
                for z in 0..<o.depth {
                    for yy in 0..<o.height {
                        for xx in 0..<o.width {
                            var acc = Double(conv.bias[oc])
                            for c in 0..<conv.inChannels {
                                for kd in 0..<3 {
                                    for kh in 0..<3 {
                                        for kw in 0..<3 {
                                            let iz = z * s + kd - 1, iy = yy * s + kh - 1, ix = xx * s + kw - 1
                                            guard iz >= 0, iz < x.shape.depth, iy >= 0, iy < x.shape.height, ix >= 0, ix < x.shape.width else { continue }
                                            acc += Double(conv.weights[(((oc * conv.inChannels + c) * 3 + kd) * 3 + kh) * 3 + kw])
                                                * Double(x[n, c, iz, iy, ix])
                                        }
                                    }
                                }
                            }
                            y[o.index(n, oc, z, yy, xx)] = acc
                        }
                    }
                }
            }
        }
        return y
    }

    static func layer(_ cin: Int, _ cout: Int, stride: Int, seed: UInt64) -> Conv3D {
        var rng = SeededGenerator(seed: seed)
        var c = Conv3D(inChannels: cin, outChannels: cout, stride: stride, leakySlope: 0.2, using: &rng)
        c.bias = NetHelp.randomArray(cout, seed: seed + 100)
        return c
    }

    @Test(arguments: [1, 2])
    func forwardMatchesDirectConvolution(stride: Int) {
        // Odd and even sizes, one axis of size 1, so every padding edge case appears.
        for (d, h, w) in [(5, 4, 6), (1, 3, 7), (2, 2, 2)] {
            let conv = Self.layer(3, 4, stride: stride, seed: 1)
            let x = NetHelp.random(TensorShape5(batch: 2, channels: 3, depth: d, height: h, width: w), seed: 2)
            let y = conv.forward(x, threads: 2)
            #expect(y.shape == conv.outputShape(for: x.shape))
            let ref = Self.naive(conv, x)
            let err = zip(y.values, ref).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(err < Tolerance.float32Accumulation, "stride \(stride), input \(d)×\(h)×\(w): max error \(err)")
        }
    }

    @Test func outputSizes() {
        let c = Self.layer(1, 1, stride: 2, seed: 3)
        #expect([64, 63, 8, 3, 2, 1].map(c.outputSize) == [32, 32, 4, 2, 1, 1])
        #expect(Self.layer(1, 1, stride: 1, seed: 3).outputSize(7) == 7)
    }

    @Test(arguments: [1, 2])
    func backwardMatchesFiniteDifferences(stride: Int) {
        let conv = Self.layer(2, 3, stride: stride, seed: 4)
        let x = NetHelp.random(TensorShape5(batch: 2, channels: 2, depth: 3, height: 5, width: 4), seed: 5)
        let r = NetHelp.random(conv.outputShape(for: x.shape), seed: 6)
        let g = conv.backward(input: x, outputGradient: r, inputGradient: true, threads: 2)
        let h = 1e-2

        let dx = NetHelp.numerical(x.values, h: h) { v in
            NetHelp.loss(conv.forward(Tensor5(shape: x.shape, values: v), threads: 1), r)
        }
        #expect(GradientCheck.maxRelativeError(NetHelp.doubles(g.input!.values), dx, floor: Self.gradientFloor) < Self.gradientTolerance)

        let dw = NetHelp.numerical(conv.weights, h: h) { w in
            var c = conv; c.weights = w
            return NetHelp.loss(c.forward(x, threads: 1), r)
        }
        #expect(GradientCheck.maxRelativeError(NetHelp.doubles(g.weights), dw, floor: Self.gradientFloor) < Self.gradientTolerance)

        let db = NetHelp.numerical(conv.bias, h: h) { b in
            var c = conv; c.bias = b
            return NetHelp.loss(c.forward(x, threads: 1), r)
        }
        #expect(GradientCheck.maxRelativeError(NetHelp.doubles(g.bias), db, floor: Self.gradientFloor) < Self.gradientTolerance)
        #expect(conv.backward(input: x, outputGradient: r, inputGradient: false, threads: 1).input == nil)
    }

    /// Shapes with several slabs per item and several items: every thread count gives the same bits.
    @Test(arguments: [1, 2])
    func bitIdenticalForEveryThreadCount(stride: Int) {
        let conv = Self.layer(3, 5, stride: stride, seed: 7)
        let x = NetHelp.random(TensorShape5(batch: 2, channels: 3, depth: 20, height: 22, width: 24), seed: 8)
        let r = NetHelp.random(conv.outputShape(for: x.shape), seed: 9)
        let y1 = conv.forward(x, threads: 1)
        let g1 = conv.backward(input: x, outputGradient: r, inputGradient: true, threads: 1)
        for t in [2, 3, 5] {
            #expect(conv.forward(x, threads: t) == y1)
            let g = conv.backward(input: x, outputGradient: r, inputGradient: true, threads: t)
            #expect(g.input == g1.input && g.weights == g1.weights && g.bias == g1.bias)
        }
        // And between runs.
        #expect(conv.forward(x, threads: 2) == conv.forward(x, threads: 2))
    }

    @Test func heInitialisationIsSeededAndScaled() {
        var a = SeededGenerator(seed: 11), b = SeededGenerator(seed: 11)
        let c1 = Conv3D(inChannels: 16, outChannels: 32, stride: 1, leakySlope: 0, using: &a)
        let c2 = Conv3D(inChannels: 16, outChannels: 32, stride: 1, leakySlope: 0, using: &b)
        #expect(c1 == c2)
        let variance = c1.weights.reduce(0.0) { $0 + Double($1 * $1) } / Double(c1.weights.count)
        let expected = 2.0 / (16 * 27)
        #expect(abs(variance / expected - 1) < 0.05)
        #expect(c1.bias.allSatisfy { $0 == 0 })
    }
}
