/// Average pooling to a few cells, flattened for the dense head:
/// (N, C, D, H, W) → (N, C·p³, 1, 1, 1) with `p = outputSize` cells per axis, each the mean
/// of a `D/p × H/p × W/p` block (accumulated in Double, sequentially). Entry order: channel,
/// then cell z, y, x (x fastest). `p = 1` is global average pooling; `p` equal to the input
/// size keeps every voxel (a plain flatten), so the head can see *where* features are.
public struct AveragePool: Sendable, Equatable {
    public let outputSize: Int

    public init(outputSize: Int = 1) {
        precondition(outputSize >= 1, "AveragePool: outputSize must be at least 1")
        self.outputSize = outputSize
    }

    /// Output features per input channel (`p³`).
    public var cellsPerChannel: Int { outputSize * outputSize * outputSize }

    private func check(_ s: TensorShape5) {
        let p = outputSize
        precondition(s.depth % p == 0 && s.height % p == 0 && s.width % p == 0,
                     "AveragePool: input \(s.depth)×\(s.height)×\(s.width) is not divisible into \(p)³ cells")
    }

    public func forward(_ x: Tensor5) -> Tensor5 {
        let s = x.shape
        check(s)
        let p = outputSize
        let (bd, bh, bw) = (s.depth / p, s.height / p, s.width / p)
        let blockCount = Double(bd * bh * bw)
        var y = Tensor5(zeros: .vector(batch: s.batch, channels: s.channels * cellsPerChannel))
        for nc in 0..<(s.batch * s.channels) {
            let base = nc * s.spatialCount
            for cz in 0..<p {
                for cy in 0..<p {
                    for cx in 0..<p {
                        var sum = 0.0
                        for z in (cz * bd)..<((cz + 1) * bd) {
                            for yy in (cy * bh)..<((cy + 1) * bh) {
                                let row = base + (z * s.height + yy) * s.width
                                for xx in (cx * bw)..<((cx + 1) * bw) { sum += Double(x.values[row + xx]) }
                            }
                        }
                        y.values[nc * cellsPerChannel + (cz * p + cy) * p + cx] = Float(sum / blockCount)
                    }
                }
            }
        }
        return y
    }

    /// `∂L/∂x` = each cell's gradient spread evenly over its block, for an input of shape `inputShape`.
    public func backward(inputShape s: TensorShape5, outputGradient dy: Tensor5) -> Tensor5 {
        check(s)
        precondition(dy.shape == .vector(batch: s.batch, channels: s.channels * cellsPerChannel), "AveragePool.backward: shapes")
        let p = outputSize
        let (bd, bh, bw) = (s.depth / p, s.height / p, s.width / p)
        let blockCount = Float(bd * bh * bw)
        var dx = Tensor5(zeros: s)
        for nc in 0..<(s.batch * s.channels) {
            let base = nc * s.spatialCount
            for z in 0..<s.depth {
                for yy in 0..<s.height {
                    let row = base + (z * s.height + yy) * s.width
                    for xx in 0..<s.width {
                        let cell = ((z / bd) * p + yy / bh) * p + xx / bw
                        dx.values[row + xx] = dy.values[nc * cellsPerChannel + cell] / blockCount
                    }
                }
            }
        }
        return dx
    }
}
