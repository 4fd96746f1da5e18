/// The shape of a 5-D activation tensor: (batch, channels, depth, height, width).
///
/// Layout **NCDHW**, contiguous, last axis fastest: `width` is the fastest axis and equals the
/// volume's `i` axis, `height` is `j`, `depth` is `k` (the same order as VolumeCore: i fastest,
/// then j, then k). Vectors (pooled features, dense outputs) use depth = height = width = 1.
public struct TensorShape5: Hashable, Sendable, Codable, CustomStringConvertible {
    public var batch: Int
    public var channels: Int
    public var depth: Int
    public var height: Int
    public var width: Int

    public init(batch: Int, channels: Int, depth: Int, height: Int, width: Int) {
        precondition(batch >= 0 && channels >= 0 && depth >= 0 && height >= 0 && width >= 0,
                     "tensor dimensions must be non-negative")
        self.batch = batch
        self.channels = channels
        self.depth = depth
        self.height = height
        self.width = width
    }

    /// A (batch, channels, 1, 1, 1) shape for feature vectors.
    public static func vector(batch: Int, channels: Int) -> TensorShape5 {
        TensorShape5(batch: batch, channels: channels, depth: 1, height: 1, width: 1)
    }

    /// Voxels per channel: depth · height · width.
    public var spatialCount: Int { depth * height * width }
    /// Elements per batch item: channels · depth · height · width.
    public var itemCount: Int { channels * spatialCount }
    /// All elements.
    public var count: Int { batch * itemCount }

    /// Linear index of element (n, c, z, y, x) with x (width, volume `i`) fastest.
    @inlinable
    public func index(_ n: Int, _ c: Int, _ z: Int, _ y: Int, _ x: Int) -> Int {
        (((n * channels + c) * depth + z) * height + y) * width + x
    }

    public var description: String { "(\(batch), \(channels), \(depth), \(height), \(width))" }
}

/// A contiguous Float32 activation tensor in NCDHW layout (see ``TensorShape5``).
public struct Tensor5: Equatable, Sendable {
    public var shape: TensorShape5
    /// `shape.count` values, x (width) fastest, then y, z, channel, batch item.
    public var values: [Float]

    public init(shape: TensorShape5, values: [Float]) {
        precondition(values.count == shape.count, "Tensor5: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }

    /// A tensor of zeros.
    public init(zeros shape: TensorShape5) {
        self.init(shape: shape, values: [Float](repeating: 0, count: shape.count))
    }

    public subscript(n: Int, c: Int, z: Int, y: Int, x: Int) -> Float {
        get { values[shape.index(n, c, z, y, x)] }
        set { values[shape.index(n, c, z, y, x)] = newValue }
    }
}
