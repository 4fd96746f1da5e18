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
    /// `activations[i]` is the input of layer `i`; the last entry is the last layer's output
    /// (the network output for the dense head, the feature maps for the centroid head).
    public let activations: [Tensor5]
    /// How the centroid head's tower batch holds the items (nil for the dense head).
    let tower: TowerLayout?
}

/// The centroid head's tower batch: the `items` scans first, then the atlases — one when every
/// item shows the same atlas channel (training batches: the tower then sees it once), else one per item.
struct TowerLayout: Sendable {
    let items: Int
    let sharedAtlas: Bool
    func atlasIndex(_ n: Int) -> Int { sharedAtlas ? items : items + n }
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
/// The dense head's last layer starts at zero weights and bias, so an untrained network
/// outputs exactly the zero vector (the identity) for every input. The centroid head
/// (``NetworkArchitecture/centroids`` > 0, ``CentroidHead``) outputs the affine's 12 entries
/// instead; ``affine(outputs:map:)`` reads either. All passes are bit-identical for every
/// `threads` value.
public struct LocalizationNetwork: Sendable {
    public let architecture: NetworkArchitecture
    public private(set) var layers: [NetworkLayer]
    /// Name prefix of each layer (`block1.conv0`, `block1.norm0`, `head` or `features`, …).
    public let layerNames: [String]
    /// The closed-form head, when ``NetworkArchitecture/centroids`` > 0.
    public let centroidHead: CentroidHead?

    /// Builds the network with He-initialised convolutions from `seed` and a zero dense head
    /// (or, with centroids, a He-initialised feature convolution).
    public init(architecture a: NetworkArchitecture, seed: UInt64) throws {
        try a.validate()
        var rng = SeededGenerator(seed: seed)
        var layers: [NetworkLayer] = [], names: [String] = []
        var c = a.centroids > 0 ? 1 : a.inputChannels
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
        if a.centroids > 0 {
            layers.append(.convolution(Conv3D(inChannels: c, outChannels: a.centroids, stride: 1,
                                              leakySlope: 1, using: &rng)))
            names.append("features")
            centroidHead = CentroidHead(channels: a.centroids, featureSize: a.blockSizes.last!,
                                        featureStride: 1 << a.blockChannels.count, gridSize: a.gridSize)
        } else {
            let pool = AveragePool(outputSize: a.pooledSize)
            layers.append(.pooling(pool))
            names.append("pool")
            layers.append(.dense(.zeros(inputs: c * pool.cellsPerChannel, outputs: a.outputs)))
            names.append("head")
            centroidHead = nil
        }
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
        let (start, tower) = towerInput(input)
        return output(layerPass(start, threads: threads), tower)
    }

    /// Every layer in order (the dense network, or the centroid head's tower).
    private func layerPass(_ input: Tensor5, threads: Int) -> Tensor5 {
        var x = input
        for layer in layers { x = Self.apply(layer, x, threads: threads) }
        return x
    }

    /// The given (item, channel) pairs of `input` as a one-channel batch, in that order.
    static func oneChannelBatch(_ input: Tensor5, _ picks: [(item: Int, channel: Int)]) -> Tensor5 {
        let cells = input.shape.spatialCount
        var values: [Float] = []
        values.reserveCapacity(picks.count * cells)
        for (b, c) in picks {
            let o = input.shape.index(b, c, 0, 0, 0)
            values.append(contentsOf: input.values[o..<(o + cells)])
        }
        return Tensor5(shape: TensorShape5(batch: picks.count, channels: 1, depth: input.shape.depth,
                                           height: input.shape.height, width: input.shape.width), values: values)
    }

    /// The centroid head's atlas barycentres for an input whose atlas channel (item 0's) will
    /// serve several forward passes — `align`'s recurrent applications show one atlas each time;
    /// nil for the dense head. Pass them to ``forward(_:atlasBarycentres:threads:)``.
    public func atlasBarycentres(_ input: Tensor5, threads: Int) -> [SIMD3<Double>]? {
        guard let head = centroidHead else { return nil }
        return head.barycentres(layerPass(Self.oneChannelBatch(input, [(0, 1)]), threads: threads), item: 0).points
    }

    /// ``forward(_:threads:)`` with the atlas channel's barycentres already known (from
    /// ``atlasBarycentres(_:threads:)`` of the same atlas channel): only the scans pass through
    /// the tower. The same bits as ``forward(_:threads:)``; the dense head ignores them.
    public func forward(_ input: Tensor5, atlasBarycentres points: [SIMD3<Double>]?, threads: Int) -> Tensor5 {
        guard let head = centroidHead, let points else { return forward(input, threads: threads) }
        precondition(input.shape == inputShape(batch: input.shape.batch),
                     "LocalizationNetwork: input shape \(input.shape), expected \(inputShape(batch: input.shape.batch))")
        let n = input.shape.batch
        let features = layerPass(Self.oneChannelBatch(input, (0..<n).map { ($0, 0) }), threads: threads)
        return head.outputs(scanFeatures: features, items: n) { _ in points }
    }

    /// Forward pass that keeps every activation for ``backward(_:outputGradient:inputGradient:threads:)``.
    public func forwardRecording(_ input: Tensor5, threads: Int) -> (output: Tensor5, tape: ForwardTape) {
        precondition(input.shape == inputShape(batch: input.shape.batch),
                     "LocalizationNetwork: input shape \(input.shape), expected \(inputShape(batch: input.shape.batch))")
        let (start, tower) = towerInput(input)
        var acts = [start]
        acts.reserveCapacity(layers.count + 1)
        for layer in layers { acts.append(Self.apply(layer, acts[acts.count - 1], threads: threads)) }
        return (output(acts[acts.count - 1], tower), ForwardTape(activations: acts, tower: tower))
    }

    /// The input as the layers see it: unchanged for the dense head; for the centroid head one
    /// channel per tower item (``TowerLayout``).
    func towerInput(_ input: Tensor5) -> (Tensor5, TowerLayout?) {
        guard centroidHead != nil else { return (input, nil) }
        let n = input.shape.batch, cells = input.shape.spatialCount
        func channel(_ b: Int, _ c: Int) -> ArraySlice<Float> {
            let o = input.shape.index(b, c, 0, 0, 0)
            return input.values[o..<(o + cells)]
        }
        let shared = n > 1 && (1..<n).allSatisfy { channel($0, 1) == channel(0, 1) }
        let picks = (0..<n).map { ($0, 0) } + (0..<(shared ? 1 : n)).map { ($0, 1) }
        return (Self.oneChannelBatch(input, picks), TowerLayout(items: n, sharedAtlas: shared))
    }

    func output(_ last: Tensor5, _ tower: TowerLayout?) -> Tensor5 {
        guard let head = centroidHead, let t = tower else { return last }
        return head.forward(features: last, items: t.items, atlasIndex: t.atlasIndex)
    }

    /// The normalised affine (atlas → scan-input point, ``NetworkFrame``) for one item's raw
    /// outputs: through `map` for the dense head, the entries themselves for the centroid head.
    public func affine(outputs o: [Double], map: AffineParameterMap) -> Affine {
        centroidHead == nil ? map.affine(o) : Affine(rowMajor3x4: o)
    }

    /// `∂L/∂outputs` for `∂L/∂entries` of ``affine(outputs:map:)``.
    public func outputGradient(outputs o: [Double], map: AffineParameterMap, entryGradient g: [Double]) -> [Double] {
        centroidHead == nil ? map.outputGradient(o, entryGradient: g) : g
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
        var grads: [[[Float]]] = Array(repeating: [], count: layers.count)
        var dy = outputGradient
        if let head = centroidHead, let t = tape.tower {
            dy = head.backward(features: tape.activations[layers.count], items: t.items, atlasIndex: t.atlasIndex,
                               outputGradient: outputGradient)
        }
        precondition(dy.shape == tape.activations[layers.count].shape, "LocalizationNetwork.backward: gradient shape")
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
        if let t = tape.tower, let d = dInput { dInput = Self.itemGradient(d, t) }
        return NetworkGradients(parameters: grads.flatMap { $0 }, input: dInput)
    }

    /// The tower batch's input gradient as (N, 2, g, g, g). A shared atlas's gradient (the sum
    /// over the items) goes to item 0's atlas channel, the other items' get zero: the gradient
    /// with respect to the one atlas image the items share.
    static func itemGradient(_ d: Tensor5, _ t: TowerLayout) -> Tensor5 {
        let cells = d.shape.spatialCount
        var out = Tensor5(zeros: TensorShape5(batch: t.items, channels: 2, depth: d.shape.depth,
                                              height: d.shape.height, width: d.shape.width))
        func copy(from src: Int, to item: Int, channel: Int) {
            let o = out.shape.index(item, channel, 0, 0, 0)
            out.values.replaceSubrange(o..<(o + cells), with: d.values[(src * cells)..<((src + 1) * cells)])
        }
        for b in 0..<t.items {
            copy(from: b, to: b, channel: 0)
            if !t.sharedAtlas || b == 0 { copy(from: t.atlasIndex(b), to: b, channel: 1) }
        }
        return out
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
