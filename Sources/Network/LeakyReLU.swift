import VolumeCore

/// Leaky rectifier: `y = x` for `x > 0`, else `slope · x`. No parameters.
///
/// The derivative at exactly 0 is taken as `slope`.
public struct LeakyReLU: Sendable, Equatable {
    public let slope: Float

    public init(slope: Float) { self.slope = slope }

    /// Elements per parallel chunk (fixed; element-wise, so any split gives the same bits).
    static let chunk = 1 << 16

    public func forward(_ x: Tensor5, threads: Int) -> Tensor5 {
        var y = x
        let a = slope, n = x.values.count
        y.values.withUnsafeMutableBufferPointer { yp in
            let yb = yp.baseAddress!
            parallelChunks((n + Self.chunk - 1) / Self.chunk, threads: threads) { c in
                for q in chunkRange(c, of: (n + Self.chunk - 1) / Self.chunk, count: n) {
                    let v = yb[q]
                    yb[q] = v > 0 ? v : a * v
                }
            }
        }
        return y
    }

    /// `∂L/∂x = dy · (x > 0 ? 1 : slope)` at the input `x` of ``forward(_:threads:)``.
    public func backward(input x: Tensor5, outputGradient dy: Tensor5, threads: Int) -> Tensor5 {
        precondition(x.shape == dy.shape, "LeakyReLU.backward: shapes")
        var dx = dy
        let a = slope, n = x.values.count
        x.values.withUnsafeBufferPointer { xp in
            dx.values.withUnsafeMutableBufferPointer { dp in
                let xb = xp.baseAddress!, db = dp.baseAddress!
                parallelChunks((n + Self.chunk - 1) / Self.chunk, threads: threads) { c in
                    for q in chunkRange(c, of: (n + Self.chunk - 1) / Self.chunk, count: n) where !(xb[q] > 0) {
                        db[q] *= a
                    }
                }
            }
        }
        return dx
    }
}
