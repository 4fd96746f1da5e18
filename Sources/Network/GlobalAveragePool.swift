/// Global average pooling: (N, C, D, H, W) → (N, C, 1, 1, 1), the mean over all voxels of
/// each channel (accumulated in Double, sequentially).
public struct GlobalAveragePool: Sendable, Equatable {
    public init() {}

    public func forward(_ x: Tensor5) -> Tensor5 {
        let s = x.shape.spatialCount
        var y = Tensor5(zeros: .vector(batch: x.shape.batch, channels: x.shape.channels))
        for nc in 0..<(x.shape.batch * x.shape.channels) {
            var sum = 0.0
            for q in 0..<s { sum += Double(x.values[nc * s + q]) }
            y.values[nc] = Float(sum / Double(s))
        }
        return y
    }

    /// `∂L/∂x[n, c, ·] = dy[n, c] / (D·H·W)` for an input of shape `inputShape`.
    public func backward(inputShape: TensorShape5, outputGradient dy: Tensor5) -> Tensor5 {
        precondition(dy.shape == .vector(batch: inputShape.batch, channels: inputShape.channels), "GlobalAveragePool.backward: shapes")
        let s = inputShape.spatialCount
        var dx = Tensor5(zeros: inputShape)
        for nc in 0..<(inputShape.batch * inputShape.channels) {
            let g = dy.values[nc] / Float(s)
            for q in 0..<s { dx.values[nc * s + q] = g }
        }
        return dx
    }
}
