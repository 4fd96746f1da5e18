import VolumeCore

/// One layer of a ``LocalizationNetwork``.
public enum NetworkLayer: Sendable, Equatable {
    case convolution(Conv3D)
    case normalization(GroupNorm)
    case activation(LeakyReLU)
    case pooling(AveragePool)
    case dense(Dense)
}

/// The activations of one forward pass, kept for ``LocalizationNetwork/backward(_:outputGradient:inputGradient:threads:)``.
public struct ForwardTape: Sendable {
    /// `activations[i]` is the input of layer `i`; the last entry is the network output.
    public let activations: [Tensor5]
}

/// Gradients of a scalar loss with respect to the network's parameters (and input).
public struct NetworkGradients: Sendable {
    /// Aligned with ``LocalizationNetwork/parameterTensors`` (same order, same sizes).
    public var parameters: [[Float]]
    /// `∂L/∂input` (N, inputChannels, g, g, g), when requested.
    public var input: Tensor5?
}

/// The localization network of the spatial transformer: (scan, atlas) on a fixed isotropic
/// grid → 12 raw outputs (see ``NetworkArchitecture`` for the layers and
/// ``AffineParameterMap`` for what the outputs mean).
///
/// Input: (N, 2, g, g, g), NCDHW with width = volume `i` fastest; channel 0 the scan after
/// initialisation, channel 1 the atlas, both resampled to the grid. Output: (N, 12, 1, 1, 1).
/// The last dense layer starts at zero weights and bias, so an untrained network outputs
/// exactly the zero vector (the identity) for every input. All passes are bit-identical for
/// every `threads` value.
public struct LocalizationNetwork: Sendable {
    public let architecture: NetworkArchitecture
    public private(set) var layers: [NetworkLayer]
    /// Name prefix of each layer (`block1.conv0`, `block1.norm0`, `head`, …).
    public let layerNames: [String]

    /// Builds the network with He-initialised convolutions from `seed` and a zero head.
    public init(architecture a: NetworkArchitecture, seed: UInt64) throws {
        try a.validate()
        var rng = SeededGenerator(seed: seed)
        var layers: [NetworkLayer] = [], names: [String] = []
        var c = a.inputChannels
        for (b, out) in a.blockChannels.enumerated() {
            for j in 0..<a.convolutionsPerBlock {
                layers.append(.convolution(Conv3D(inChannels: c, outChannels: out, stride: j == 0 ? 2 : 1,
                                                  leakySlope: a.leakySlope, using: &rng)))
                names.append("block\(b).conv\(j)")
                if case .group = a.normalization {
                    layers.append(.normalization(GroupNorm(channels: out, groups: a.groupCount(channels: out))))
                    names.append("block\(b).norm\(j)")
                }
                layers.append(.activation(LeakyReLU(slope: a.leakySlope)))
                names.append("block\(b).act\(j)")
                c = out
            }
        }
        let pool = AveragePool(outputSize: a.pooledSize)
        layers.append(.pooling(pool))
        names.append("pool")
        layers.append(.dense(.zeros(inputs: c * pool.cellsPerChannel, outputs: a.outputs)))
        names.append("head")
        self.architecture = a
        self.layers = layers
        self.layerNames = names
    }

    /// The input shape for `batch` items.
    public func inputShape(batch: Int) -> TensorShape5 {
        TensorShape5(batch: batch, channels: architecture.inputChannels,
                     depth: architecture.gridSize, height: architecture.gridSize, width: architecture.gridSize)
    }

    /// Raw outputs (N, `outputs`, 1, 1, 1).
    public func forward(_ input: Tensor5, threads: Int) -> Tensor5 {
        precondition(input.shape == inputShape(batch: input.shape.batch),
                     "LocalizationNetwork: input shape \(input.shape), expected \(inputShape(batch: input.shape.batch))")
        var x = input
        for layer in layers { x = Self.apply(layer, x, threads: threads) }
        return x
    }

    /// Forward pass that keeps every activation for ``backward(_:outputGradient:inputGradient:threads:)``.
    public func forwardRecording(_ input: Tensor5, threads: Int) -> (output: Tensor5, tape: ForwardTape) {
        precondition(input.shape == inputShape(batch: input.shape.batch),
                     "LocalizationNetwork: input shape \(input.shape), expected \(inputShape(batch: input.shape.batch))")
        var acts = [input]
        acts.reserveCapacity(layers.count + 1)
        for layer in layers { acts.append(Self.apply(layer, acts[acts.count - 1], threads: threads)) }
        return (acts[acts.count - 1], ForwardTape(activations: acts))
    }

    private static func apply(_ layer: NetworkLayer, _ x: Tensor5, threads: Int) -> Tensor5 {
        switch layer {
        case .convolution(let l): return l.forward(x, threads: threads)
        case .normalization(let l): return l.forward(x, threads: threads)
        case .activation(let l): return l.forward(x, threads: threads)
        case .pooling(let l): return l.forward(x)
        case .dense(let l): return l.forward(x)
        }
    }

    /// Back-propagates `outputGradient = ∂L/∂output` (N, outputs, 1, 1, 1) through the pass
    /// recorded in `tape`. The input gradient costs one more transposed product for the first
    /// convolution; ask for it only when needed.
    public func backward(_ tape: ForwardTape, outputGradient: Tensor5, inputGradient: Bool = false,
                         threads: Int) -> NetworkGradients {
        precondition(tape.activations.count == layers.count + 1, "LocalizationNetwork.backward: tape of another network")
        precondition(outputGradient.shape == tape.activations[layers.count].shape, "LocalizationNetwork.backward: gradient shape")
        var grads: [[[Float]]] = Array(repeating: [], count: layers.count)
        var dy = outputGradient
        var dInput: Tensor5?
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let x = tape.activations[i]
            let needInput = i > 0 || inputGradient
            switch layers[i] {
            case .convolution(let l):
                let r = l.backward(input: x, outputGradient: dy, inputGradient: needInput, threads: threads)
                grads[i] = [r.weights, r.bias]
                if let d = r.input { dy = d }
            case .normalization(let l):
                let r = l.backward(input: x, outputGradient: dy, threads: threads)
                grads[i] = [r.scale, r.shift]
                dy = r.input
            case .activation(let l):
                dy = l.backward(input: x, outputGradient: dy, threads: threads)
            case .pooling(let l):
                dy = l.backward(inputShape: x.shape, outputGradient: dy)
            case .dense(let l):
                let r = l.backward(input: x, outputGradient: dy)
                grads[i] = [r.weights, r.bias]
                dy = r.input
            }
            if i == 0 && inputGradient { dInput = dy }
        }
        return NetworkGradients(parameters: grads.flatMap { $0 }, input: dInput)
    }

    // MARK: Parameters

    /// Every parameter tensor in a fixed order (layer order; weight before bias, scale before shift).
    ///
    /// Shapes: convolution weight `[out, in, 3, 3, 3]`, bias `[out]`; normalisation scale and
    /// shift `[channels]`; dense weight `[out, in]`, bias `[out]`.
    public var parameterTensors: [ParameterTensor] {
        var t: [ParameterTensor] = []
        for (layer, name) in zip(layers, layerNames) {
            switch layer {
            case .convolution(let l):
                t.append(ParameterTensor(name: name + ".weight", shape: [l.outChannels, l.inChannels, 3, 3, 3], values: l.weights))
                t.append(ParameterTensor(name: name + ".bias", shape: [l.outChannels], values: l.bias))
            case .normalization(let l):
                t.append(ParameterTensor(name: name + ".scale", shape: [l.channels], values: l.scale))
                t.append(ParameterTensor(name: name + ".shift", shape: [l.channels], values: l.shift))
            case .dense(let l):
                t.append(ParameterTensor(name: name + ".weight", shape: [l.outputs, l.inputs], values: l.weights))
                t.append(ParameterTensor(name: name + ".bias", shape: [l.outputs], values: l.bias))
            case .activation, .pooling:
                break
            }
        }
        return t
    }

    /// Whether each tensor of ``parameterTensors`` takes weight decay (weights only).
    public var parameterDecays: [Bool] { parameterTensors.map { $0.name.hasSuffix(".weight") } }

    /// Total number of scalar parameters.
    public var parameterCount: Int { parameterTensors.reduce(0) { $0 + $1.values.count } }

    /// The parameter values in ``parameterTensors`` order (for the optimiser).
    public var parameterValues: [[Float]] {
        get { parameterTensors.map(\.values) }
        set {
            let current = parameterTensors
            precondition(newValue.count == current.count && zip(newValue, current).allSatisfy { $0.count == $1.values.count },
                         "LocalizationNetwork: parameter layout does not match")
            var q = 0
            for i in layers.indices {
                switch layers[i] {
                case .convolution(var l):
                    l.weights = newValue[q]; l.bias = newValue[q + 1]; q += 2
                    layers[i] = .convolution(l)
                case .normalization(var l):
                    l.scale = newValue[q]; l.shift = newValue[q + 1]; q += 2
                    layers[i] = .normalization(l)
                case .dense(var l):
                    l.weights = newValue[q]; l.bias = newValue[q + 1]; q += 2
                    layers[i] = .dense(l)
                case .activation, .pooling:
                    break
                }
            }
        }
    }

    /// Loads tensors saved from ``parameterTensors`` of a network with the same architecture.
    /// Throws ``NetworkError/parameterMismatch(_:)`` naming the first tensor whose name, shape,
    /// size or values (non-finite) do not fit; the network is unchanged when it throws.
    public mutating func loadParameters(_ tensors: [ParameterTensor]) throws {
        let expected = parameterTensors
        guard tensors.count == expected.count else {
            throw NetworkError.parameterMismatch("expected \(expected.count) tensors, found \(tensors.count)")
        }
        for (t, e) in zip(tensors, expected) {
            guard t.name == e.name else {
                throw NetworkError.parameterMismatch("expected tensor '\(e.name)', found '\(t.name)'")
            }
            guard t.shape == e.shape else {
                throw NetworkError.parameterMismatch("tensor '\(e.name)' has shape \(t.shape), expected \(e.shape)")
            }
            guard t.values.count == e.values.count else {
                throw NetworkError.parameterMismatch("tensor '\(e.name)' has \(t.values.count) values, its shape \(e.shape) needs \(e.values.count)")
            }
            guard t.values.allSatisfy(\.isFinite) else {
                throw NetworkError.parameterMismatch("tensor '\(e.name)' contains a non-finite value")
            }
        }
        parameterValues = tensors.map(\.values)
    }
}
