import Foundation
import Network
import Optimization
import Testing
import TestSupport
import VolumeCore

struct LocalizationNetworkTests {
    static let tiny = NetworkArchitecture(gridSize: 8, blockChannels: [4, 4], convolutionsPerBlock: 2,
                                          normalization: .group(groups: 2), leakySlope: 0.2)

    /// The tiny network with a random (non-zero) head so that every gradient is non-zero.
    static func tinyNetwork(seed: UInt64) -> LocalizationNetwork {
        var net = try! LocalizationNetwork(architecture: tiny, seed: seed)
        var p = net.parameterValues
        for i in p.indices where net.parameterTensors[i].name.hasPrefix("head") || net.parameterTensors[i].name.hasSuffix("shift") {
            p[i] = NetHelp.randomArray(p[i].count, seed: seed + UInt64(i), lo: -0.5, hi: 0.5)
        }
        net.parameterValues = p
        return net
    }

    @Test func untrainedNetworkOutputsExactlyZero() throws {
        let arch = NetworkArchitecture(gridSize: 32, blockChannels: [4, 8, 8], convolutionsPerBlock: 1)
        let net = try LocalizationNetwork(architecture: arch, seed: 1)
        let x = NetHelp.random(net.inputShape(batch: 2), seed: 2, lo: 0, hi: 100)
        let y = net.forward(x, threads: 2)
        #expect(y.shape == .vector(batch: 2, channels: 12))
        #expect(y.values.allSatisfy { $0 == 0 && $0.sign == .plus })
        #expect(AffineParameterMap().affine(y.values.prefix(12).map(Double.init)) == .identity)
    }

    /// One sampled gradient entry: the analytic value's relative error against central
    /// differences with step h, and the measured noise of those differences (their relative
    /// disagreement with differences at step h/2).
    struct EntryError { var name: String; var error: Double; var noise: Double }

    /// Relative errors of sampled parameter and input gradients against central differences.
    static func gradientErrors(slope: Float, h: Double, pooledSize: Int = 1, centroids: Int = 0) -> [EntryError] {
        var arch = tiny
        arch.leakySlope = slope
        arch.pooledSize = pooledSize
        arch.centroids = centroids
        var net = try! LocalizationNetwork(architecture: arch, seed: 3)
        var p = net.parameterValues
        for i in p.indices where net.parameterTensors[i].name.hasPrefix("head") || net.parameterTensors[i].name.hasSuffix("shift") {
            p[i] = NetHelp.randomArray(p[i].count, seed: 30 + UInt64(i), lo: -0.5, hi: 0.5)
        }
        net.parameterValues = p
        let x = NetHelp.random(net.inputShape(batch: 2), seed: 4)
        let r = NetHelp.random(.vector(batch: 2, channels: 12), seed: 5)
        let (_, tape) = net.forwardRecording(x, threads: 2)
        let g = net.backward(tape, outputGradient: r, inputGradient: true, threads: 2)
        let tensors = net.parameterTensors
        #expect(g.parameters.map(\.count) == tensors.map(\.values.count))
        var errors: [EntryError] = []
        func check(_ name: String, analytic: Double, _ fd: (Double) -> Double) {
            let n1 = fd(h), n2 = fd(h / 2)
            let floor = Tolerance.finiteDifferenceFloor
            errors.append(EntryError(name: name,
                                     error: GradientCheck.maxRelativeError([analytic], [n1], floor: floor),
                                     noise: GradientCheck.maxRelativeError([n1], [n2], floor: floor)))
        }
        for (i, t) in tensors.enumerated() {
            // Up to 16 entries per tensor, spread over it.
            let idx = Array(Swift.stride(from: 0, to: t.values.count, by: max(1, t.values.count / 16)))
            for e in idx {
                check("\(t.name)[\(e)]", analytic: Double(g.parameters[i][e])) { step in
                    NetHelp.numerical(t.values, h: step, indices: [e]) { v in
                        var n = net; var p = n.parameterValues; p[i] = v; n.parameterValues = p
                        return NetHelp.loss(n.forward(x, threads: 1), r)
                    }[0]
                }
            }
        }
        for e in Swift.stride(from: 0, to: x.values.count, by: 17) {
            check("input[\(e)]", analytic: Double(g.input!.values[e])) { step in
                NetHelp.numerical(x.values, h: step, indices: [e]) { v in
                    NetHelp.loss(net.forward(Tensor5(shape: x.shape, values: v), threads: 1), r)
                }[0]
            }
        }
        return errors
    }

    /// With slope 1 the network is smooth (convolutions, group norm, pooling, dense): every
    /// sampled gradient entry must match central differences within
    /// ``Tolerance/float32FiniteDifference`` plus twice the differences' own measured noise.
    /// Pooled globally (1) and to 2³ cells (every voxel of the last block kept). The noise term
    /// is what makes the check hold on any CPU: OpenBLAS picks its SGEMM kernel per CPU
    /// (`OPENBLAS_CORETYPE`), which changes the Float32 rounding of every forward pass, and with
    /// it the differences (measured: the pooled-2 head's worst entry is 0.8 % off on Haswell
    /// kernels, 1.15 % on Nehalem's; its h/2 differences disagree with the h ones by about as much).
    @Test(arguments: [1, 2])
    func backwardMatchesFiniteDifferencesOnASmoothNetwork(pooledSize: Int) {
        for e in Self.gradientErrors(slope: 1, h: 1e-2, pooledSize: pooledSize) {
            #expect(e.error < Tolerance.float32FiniteDifference + 2 * e.noise,
                    "\(e.name): relative error \(e.error), finite-difference noise \(e.noise) (pooled \(pooledSize))")
        }
    }

    /// The centroid head (8 maps on the 2³ feature grid, ``CentroidHead``) through the same
    /// smooth tower: the same bound, for the parameters and both input channels (the two items'
    /// atlas channels differ, so each item's atlas passes through the tower on its own). Eight
    /// maps, not four: four points fix the 12 entries exactly, and that fit's conditioning
    /// amplified the Float32 rounding of the tower's features into the differences (one input
    /// entry 23 % off with Nehalem, Prescott and Sandybridge kernels, within bound with
    /// Haswell's); with eight the fit is over-determined, as the shipped 64 maps are, and every
    /// entry holds on all four kernels.
    @Test func centroidNetworkBackwardMatchesFiniteDifferences() {
        for e in Self.gradientErrors(slope: 1, h: 1e-2, centroids: 8) {
            #expect(e.error < Tolerance.float32FiniteDifference + 2 * e.noise,
                    "\(e.name): relative error \(e.error), finite-difference noise \(e.noise) (centroids)")
        }
    }

    /// A batch whose items show one atlas runs it through the tower once: the outputs are the
    /// same bits as one item at a time, the parameter gradients the same sums up to their order
    /// (Float32 accumulation over four items and 16³ voxels: 1e-4 of the tensor's largest entry), and both are the same for every
    /// thread count.
    @Test func centroidNetworkSharesTheAtlasOfABatch() throws {
        var arch = NetworkArchitecture(gridSize: 16, blockChannels: [4, 8], convolutionsPerBlock: 1, centroids: 6)
        arch.leakySlope = 0.2
        let net = try LocalizationNetwork(architecture: arch, seed: 21)
        let atlas = NetHelp.randomArray(16 * 16 * 16, seed: 22)
        var values: [Float] = []
        for b in 0..<4 { values += NetHelp.randomArray(16 * 16 * 16, seed: 23 + UInt64(b)) + atlas }
        let x = Tensor5(shape: net.inputShape(batch: 4), values: values)
        let r = NetHelp.random(.vector(batch: 4, channels: 12), seed: 30)
        let (y, tape) = net.forwardRecording(x, threads: 2)
        let g = net.backward(tape, outputGradient: r, threads: 2)
        var sum = g.parameters.map { [Double](repeating: 0, count: $0.count) }
        for b in 0..<4 {
            let item = Tensor5(shape: net.inputShape(batch: 1), values: Array(values[(b * 2 * 4096)..<((b + 1) * 2 * 4096)]))
            let (yb, tb) = net.forwardRecording(item, threads: 1)
            #expect(Array(yb.values) == Array(y.values[(b * 12)..<((b + 1) * 12)]))
            let rb = Tensor5(shape: .vector(batch: 1, channels: 12), values: Array(r.values[(b * 12)..<((b + 1) * 12)]))
            let gb = net.backward(tb, outputGradient: rb, threads: 1)
            for (i, t) in gb.parameters.enumerated() { for e in t.indices { sum[i][e] += Double(t[e]) } }
        }
        // Relative to each tensor's largest entry. Two tensors' gradients are zero by
        // construction, leaving only rounding: the features' biases (a softmax ignores a shift)
        // and the biases before a one-channel-per-group norm; both ways they must stay at that.
        let global = sum.flatMap { $0 }.map(abs).max()!
        for (i, t) in g.parameters.enumerated() {
            let scale = sum[i].map(abs).max()!
            if scale < 1e-4 * global {
                #expect(t.allSatisfy { Double(abs($0)) < 1e-4 * global }, "\(net.parameterTensors[i].name)")
                continue
            }
            #expect(GradientCheck.maxRelativeError(t.map(Double.init), sum[i], floor: scale) < 1e-4, "\(net.parameterTensors[i].name)")
        }
        let (y1, tape1) = net.forwardRecording(x, threads: 1)
        #expect(y1 == y)
        #expect(net.backward(tape1, outputGradient: r, threads: 1).parameters == g.parameters)
        // The atlas's barycentres computed once and reused (align's recurrent applications): the same bits.
        let points = net.atlasBarycentres(x, threads: 2)
        #expect(points != nil)
        #expect(net.forward(x, atlasBarycentres: points, threads: 2) == y)
        #expect(try LocalizationNetwork(architecture: Self.tiny, seed: 1).atlasBarycentres(x, threads: 1) == nil)
    }

    /// With slope 0.2 a few differences straddle a kink of the LeakyReLU (any step large
    /// enough to beat Float32 rounding does): require 95 % of the entries to match.
    @Test func backwardMatchesFiniteDifferencesAwayFromKinks() {
        let errors = Self.gradientErrors(slope: 0.2, h: 2e-3)
        let good = errors.filter { $0.error < Tolerance.float32FiniteDifference + 2 * $0.noise }.count
        #expect(Double(good) >= 0.95 * Double(errors.count), "\(errors.count - good) of \(errors.count) entries off")
    }

    @Test func forwardAndBackwardAreBitIdenticalForEveryThreadCount() {
        var net = try! LocalizationNetwork(architecture: NetworkArchitecture(gridSize: 24, blockChannels: [4, 8], convolutionsPerBlock: 2), seed: 6)
        var p = net.parameterValues
        p[p.count - 2] = NetHelp.randomArray(p[p.count - 2].count, seed: 7)
        net.parameterValues = p
        let x = NetHelp.random(net.inputShape(batch: 2), seed: 8)
        let r = NetHelp.random(.vector(batch: 2, channels: 12), seed: 9)
        let (y1, tape1) = net.forwardRecording(x, threads: 1)
        let g1 = net.backward(tape1, outputGradient: r, inputGradient: true, threads: 1)
        for t in [2, 3] {
            let (y, tape) = net.forwardRecording(x, threads: t)
            let g = net.backward(tape, outputGradient: r, inputGradient: true, threads: t)
            #expect(y == y1)
            #expect(g.parameters == g1.parameters)
            #expect(g.input == g1.input)
        }
    }

    @Test func sameSeedSameWeightsAndNamedTensors() throws {
        let a = try LocalizationNetwork(architecture: Self.tiny, seed: 10)
        let b = try LocalizationNetwork(architecture: Self.tiny, seed: 10)
        let c = try LocalizationNetwork(architecture: Self.tiny, seed: 11)
        #expect(a.parameterTensors == b.parameterTensors)
        #expect(a.parameterTensors != c.parameterTensors)
        #expect(a.parameterTensors.map(\.name) == [
            "block0.conv0.weight", "block0.conv0.bias", "block0.norm0.scale", "block0.norm0.shift",
            "block0.conv1.weight", "block0.conv1.bias", "block0.norm1.scale", "block0.norm1.shift",
            "block1.conv0.weight", "block1.conv0.bias", "block1.norm0.scale", "block1.norm0.shift",
            "block1.conv1.weight", "block1.conv1.bias", "block1.norm1.scale", "block1.norm1.shift",
            "head.weight", "head.bias"])
        #expect(a.parameterTensors[0].shape == [4, 2, 3, 3, 3])
        #expect(a.parameterTensors[16].shape == [12, 4])
        #expect(a.parameterDecays.filter { $0 }.count == 5)
    }

    @Test func parametersLoadBackAndAreValidated() throws {
        let source = Self.tinyNetwork(seed: 12)
        var net = try LocalizationNetwork(architecture: Self.tiny, seed: 13)
        try net.loadParameters(source.parameterTensors)
        #expect(net.parameterTensors == source.parameterTensors)
        let x = NetHelp.random(net.inputShape(batch: 1), seed: 14)
        #expect(net.forward(x, threads: 1) == source.forward(x, threads: 1))

        var wrongShape = source.parameterTensors
        wrongShape[4].shape = [4, 4, 3, 3, 2]
        #expect(throws: NetworkError.parameterMismatch("tensor 'block0.conv1.weight' has shape [4, 4, 3, 3, 2], expected [4, 4, 3, 3, 3]")) {
            try net.loadParameters(wrongShape)
        }
        var wrongName = source.parameterTensors
        wrongName[1].name = "block0.conv0.offset"
        #expect(throws: NetworkError.parameterMismatch("expected tensor 'block0.conv0.bias', found 'block0.conv0.offset'")) {
            try net.loadParameters(wrongName)
        }
        var wrongCount = source.parameterTensors
        wrongCount[1].values.removeLast()
        #expect(throws: NetworkError.self) { try net.loadParameters(wrongCount) }
        var notFinite = source.parameterTensors
        notFinite[2].values[0] = .nan
        #expect(throws: NetworkError.parameterMismatch("tensor 'block0.norm0.scale' contains a non-finite value")) {
            try net.loadParameters(notFinite)
        }
        #expect(throws: NetworkError.self) { try net.loadParameters(Array(source.parameterTensors.dropLast())) }
        #expect(net.parameterTensors == source.parameterTensors)
    }

    @Test func architectureRoundTripsThroughJSONAndIsValidated() throws {
        let data = try JSONEncoder().encode(NetworkArchitecture.standard)
        #expect(try JSONDecoder().decode(NetworkArchitecture.self, from: data) == .standard)
        #expect(NetworkArchitecture.standard.blockSizes == [32, 16, 8, 4, 2])
        #expect(throws: NetworkError.invalidArchitecture("normalization groups 4 do not divide block channels 6")) {
            try LocalizationNetwork(architecture: NetworkArchitecture(blockChannels: [8, 6]), seed: 1)
        }
        #expect(throws: NetworkError.self) { try NetworkArchitecture(blockChannels: []).validate() }
        #expect(throws: NetworkError.self) { try NetworkArchitecture(leakySlope: -1).validate() }
        try NetworkArchitecture(blockChannels: [2, 8], normalization: .group(groups: 4)).validate()
        try NetworkArchitecture(normalization: .none).validate()
        // Pooling must divide the last block (2³ here); model files without the key pool globally.
        try NetworkArchitecture(pooledSize: 2).validate()
        #expect(throws: NetworkError.self) { try NetworkArchitecture(pooledSize: 3).validate() }
        #expect(throws: NetworkError.self) { try NetworkArchitecture(pooledSize: 0).validate() }
        var old = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        old.removeValue(forKey: "pooledSize")
        let legacy = try JSONDecoder().decode(NetworkArchitecture.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(legacy.pooledSize == 1 && legacy == .standard)
        let pooled = try LocalizationNetwork(architecture: NetworkArchitecture(pooledSize: 2), seed: 1)
        #expect(pooled.parameterTensors.last(where: { $0.name == "head.weight" })?.shape == [12, 64 * 8])
    }

    @Test func trainingStepsReduceASimpleLoss() throws {
        // Regress the outputs towards a fixed target: AdamW on the whole network must reduce ½‖y − y*‖².
        var net = try LocalizationNetwork(architecture: Self.tiny, seed: 15)
        let x = NetHelp.random(net.inputShape(batch: 2), seed: 16)
        let target = NetHelp.random(.vector(batch: 2, channels: 12), seed: 17, lo: -0.5, hi: 0.5)
        var adam = AdamW<Float>(learningRate: 1e-2, weightDecay: 1e-4, clipNorm: 1)
        func loss(_ y: Tensor5) -> Double { zip(y.values, target.values).reduce(0) { $0 + 0.5 * Double(($1.0 - $1.1) * ($1.0 - $1.1)) } }
        let first = loss(net.forward(x, threads: 2))
        for _ in 0..<30 {
            let (y, tape) = net.forwardRecording(x, threads: 2)
            let dy = Tensor5(shape: y.shape, values: zip(y.values, target.values).map { $0 - $1 })
            let g = net.backward(tape, outputGradient: dy, threads: 2)
            var p = net.parameterValues
            adam.update(&p, gradients: g.parameters, decays: net.parameterDecays)
            net.parameterValues = p
        }
        #expect(loss(net.forward(x, threads: 2)) < 0.2 * first)
    }
}
