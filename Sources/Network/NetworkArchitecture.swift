/// Which normalisation follows each convolution.
public enum Normalization: Codable, Equatable, Sendable {
    /// No normalisation (the convolution's bias is then the only shift).
    case none
    /// ``GroupNorm`` with `groups` groups in every layer (a layer with fewer channels uses one
    /// group per channel); `groups` must divide every block's channel count.
    case group(groups: Int)
}

/// Everything needed to rebuild a ``LocalizationNetwork`` (stored in model files).
///
/// The network: input (N, `inputChannels`, g, g, g) with g = `gridSize`; then for each entry
/// `c` of `blockChannels` a block of `convolutionsPerBlock` convolutions — the first with
/// stride 2 (halving each axis: g → (g−1)/2 + 1), the others stride 1, all to `c` channels,
/// each followed by the normalisation and LeakyReLU(`leakySlope`); then average pooling to
/// `pooledSize`³ cells per channel (1: global average pooling; the last block's size: every
/// voxel kept, so the head sees where features are) and one dense layer to `outputs` values,
/// initialised to zero.
///
/// With `centroids` = K > 0 the head is a ``CentroidHead`` instead: the blocks (one input
/// channel) see the scan and the atlas apart, a last stride-1 convolution ("features") makes K
/// maps, and the affine is fitted in closed form to their barycentres; no pooling, no dense layer.
public struct NetworkArchitecture: Codable, Equatable, Sendable {
    /// Edge length of the isotropic input grid, in voxels.
    public var gridSize: Int
    /// Input channels (2: the initialised scan and the atlas).
    public var inputChannels: Int
    /// Output channels of each down-sampling block.
    public var blockChannels: [Int]
    /// Convolutions per block (≥ 1); the first has stride 2.
    public var convolutionsPerBlock: Int
    public var normalization: Normalization
    /// Negative-side slope of the LeakyReLU, in [0, 1] (1 makes it the identity: a smooth
    /// network, used by the finite-difference test).
    public var leakySlope: Float
    /// Raw outputs (12 for an affine; see ``AffineParameterMap``).
    public var outputs: Int
    /// Cells per axis after pooling (≥ 1, dividing the last block's size; absent in model
    /// files made before it existed, which pooled globally: 1).
    public var pooledSize: Int
    /// Feature maps of the centroid head; 0 (and absent in older model files): the dense head.
    public var centroids: Int

    public init(gridSize: Int = 64, inputChannels: Int = 2, blockChannels: [Int] = [8, 16, 32, 32, 64],
                convolutionsPerBlock: Int = 2, normalization: Normalization = .group(groups: 4),
                leakySlope: Float = 0.2, outputs: Int = 12, pooledSize: Int = 1, centroids: Int = 0) {
        self.gridSize = gridSize
        self.inputChannels = inputChannels
        self.blockChannels = blockChannels
        self.convolutionsPerBlock = convolutionsPerBlock
        self.normalization = normalization
        self.leakySlope = leakySlope
        self.outputs = outputs
        self.pooledSize = pooledSize
        self.centroids = centroids
    }

    enum CodingKeys: String, CodingKey {
        case gridSize, inputChannels, blockChannels, convolutionsPerBlock, normalization, leakySlope, outputs, pooledSize, centroids
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(gridSize, forKey: .gridSize)
        try c.encode(inputChannels, forKey: .inputChannels)
        try c.encode(blockChannels, forKey: .blockChannels)
        try c.encode(convolutionsPerBlock, forKey: .convolutionsPerBlock)
        try c.encode(normalization, forKey: .normalization)
        try c.encode(leakySlope, forKey: .leakySlope)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(pooledSize, forKey: .pooledSize)
        // Written only for the centroid head, so dense-head model files keep their bytes.
        if centroids > 0 { try c.encode(centroids, forKey: .centroids) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(gridSize: try c.decode(Int.self, forKey: .gridSize),
                  inputChannels: try c.decode(Int.self, forKey: .inputChannels),
                  blockChannels: try c.decode([Int].self, forKey: .blockChannels),
                  convolutionsPerBlock: try c.decode(Int.self, forKey: .convolutionsPerBlock),
                  normalization: try c.decode(Normalization.self, forKey: .normalization),
                  leakySlope: try c.decode(Float.self, forKey: .leakySlope),
                  outputs: try c.decode(Int.self, forKey: .outputs),
                  pooledSize: try c.decodeIfPresent(Int.self, forKey: .pooledSize) ?? 1,
                  centroids: try c.decodeIfPresent(Int.self, forKey: .centroids) ?? 0)
    }

    /// The default: 64³ input, 5 blocks 64→32→16→8→4→2 with 8-16-32-32-64 channels, two
    /// convolutions per block, group norm with 4 groups, slope 0.2, 12 outputs.
    public static let standard = NetworkArchitecture()

    /// Spatial edge length after each block.
    public var blockSizes: [Int] {
        var s = gridSize
        return blockChannels.map { _ in s = (s - 1) / 2 + 1; return s }
    }

    /// Throws ``NetworkError/invalidArchitecture(_:)`` naming the first field that is out of range.
    public func validate() throws {
        func fail(_ m: String) -> NetworkError { .invalidArchitecture(m) }
        guard gridSize >= 2 else { throw fail("gridSize must be at least 2 (got \(gridSize))") }
        guard inputChannels >= 1 else { throw fail("inputChannels must be at least 1 (got \(inputChannels))") }
        guard !blockChannels.isEmpty, blockChannels.allSatisfy({ $0 >= 1 }) else {
            throw fail("blockChannels must be a non-empty list of positive counts (got \(blockChannels))")
        }
        guard convolutionsPerBlock >= 1 else { throw fail("convolutionsPerBlock must be at least 1 (got \(convolutionsPerBlock))") }
        guard leakySlope.isFinite, leakySlope >= 0, leakySlope <= 1 else { throw fail("leakySlope must be in [0, 1] (got \(leakySlope))") }
        guard outputs >= 1 else { throw fail("outputs must be at least 1 (got \(outputs))") }
        let last = blockSizes.last!
        guard pooledSize >= 1, last % pooledSize == 0 else {
            throw fail("pooledSize must be at least 1 and divide the last block's size \(last) (got \(pooledSize))")
        }
        if centroids != 0 {
            guard centroids >= 4 else { throw fail("centroids must be 0 (dense head) or at least 4 (got \(centroids))") }
            guard inputChannels == 2, outputs == 12 else {
                throw fail("the centroid head needs 2 input channels (scan, atlas) and 12 outputs (got \(inputChannels), \(outputs))")
            }
        }
        if case .group(let g) = normalization {
            guard g >= 1 else { throw fail("normalization groups must be at least 1 (got \(g))") }
            for c in blockChannels where c % groupCount(channels: c) != 0 {
                throw fail("normalization groups \(g) do not divide block channels \(c)")
            }
        }
    }

    /// Groups used for a layer of `channels` channels.
    func groupCount(channels: Int) -> Int {
        if case .group(let g) = normalization { return min(g, channels) }
        return 1
    }
}

/// Errors of the Network module; each message names the field or tensor at fault.
public enum NetworkError: Error, Equatable, CustomStringConvertible {
    case invalidArchitecture(String)
    case parameterMismatch(String)

    public var description: String {
        switch self {
        case .invalidArchitecture(let m): return "invalid network architecture: \(m)"
        case .parameterMismatch(let m): return "network parameters do not match the architecture: \(m)"
        }
    }
}

/// One named parameter tensor, as a model file stores it.
public struct ParameterTensor: Codable, Equatable, Sendable {
    /// E.g. `block0.conv1.weight`, `block2.norm0.scale`, `head.bias`.
    public var name: String
    /// Logical shape, e.g. `[out, in, 3, 3, 3]` for a convolution weight (last axis fastest).
    public var shape: [Int]
    /// The values, row-major in `shape`.
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}
