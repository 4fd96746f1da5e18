import VolumeCore

/// A 3-D convolution with a 3×3×3 kernel, padding 1 (zeros), stride 1 or 2, and a bias.
///
///     y[n, o, z, y, x] = bias[o] + Σ_{c, kd, kh, kw} w[o, c, kd, kh, kw] · x[n, c, s·z + kd − 1, s·y + kh − 1, s·x + kw − 1]
///
/// (cross-correlation, as in every deep-learning library; out-of-range input reads are 0).
/// Output size per spatial axis: `(in − 1) / s + 1` (integer division), so 64 → 32 at stride 2.
///
/// - `weights`: `outChannels · inChannels · 27` values, layout (out, in, kd, kh, kw) with `kw`
///   fastest; `kw` runs along width = volume `i`, `kh` along `j`, `kd` along `k`.
/// - `bias`: `outChannels` values.
///
/// Implementation: vol2col + single-threaded OpenBLAS SGEMM per fixed chunk (batch item ×
/// slab of output depth planes), chunks spread over `threads`. Results are bit-identical for
/// every `threads` value (see ``_OpenBLAS``).
public struct Conv3D: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    /// 1 or 2.
    public let stride: Int
    public var weights: [Float]
    public var bias: [Float]

    /// Kernel taps per input channel.
    public static let taps = 27

    /// A convolution with the given parameters (`weights` in (out, in, kd, kh, kw) layout).
    public init(inChannels: Int, outChannels: Int, stride: Int, weights: [Float], bias: [Float]) {
        precondition(inChannels > 0 && outChannels > 0, "Conv3D needs positive channel counts")
        precondition(stride == 1 || stride == 2, "Conv3D supports stride 1 and 2")
        precondition(weights.count == outChannels * inChannels * Conv3D.taps, "Conv3D: weights count")
        precondition(bias.count == outChannels, "Conv3D: bias count")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        self.weights = weights
        self.bias = bias
    }

    /// He (Kaiming) normal initialisation for a following LeakyReLU of slope `slope`:
    /// `w ~ N(0, 2 / ((1 + slope²) · fanIn))`, `fanIn = 27 · inChannels`; bias 0.
    public init(inChannels: Int, outChannels: Int, stride: Int, leakySlope slope: Float,
                using rng: inout SeededGenerator) {
        let fanIn = Double(inChannels * Conv3D.taps)
        let std = (2 / ((1 + Double(slope * slope)) * fanIn)).squareRoot()
        let w = (0..<(outChannels * inChannels * Conv3D.taps)).map { _ in Float(std * rng.gaussian()) }
        self.init(inChannels: inChannels, outChannels: outChannels, stride: stride,
                  weights: w, bias: [Float](repeating: 0, count: outChannels))
    }

    /// Output size along one axis for an input of size `n`.
    public func outputSize(_ n: Int) -> Int { (n - 1) / stride + 1 }

    public func outputShape(for s: TensorShape5) -> TensorShape5 {
        TensorShape5(batch: s.batch, channels: outChannels,
                     depth: outputSize(s.depth), height: outputSize(s.height), width: outputSize(s.width))
    }

    /// Multiply-adds of one forward pass, times 2 (FLOPs), for input shape `s`.
    public func forwardFLOPs(for s: TensorShape5) -> Double {
        2 * Double(s.batch * outputShape(for: s).spatialCount) * Double(outChannels * inChannels * Conv3D.taps)
    }

    /// Applies the convolution to `x` (shape (N, inChannels, D, H, W)).
    public func forward(_ x: Tensor5, threads: Int) -> Tensor5 {
        precondition(x.shape.channels == inChannels, "Conv3D: input has \(x.shape.channels) channels, expected \(inChannels)")
        let g = ConvGeometry(input: x.shape, stride: stride)
        var y = Tensor5(zeros: outputShape(for: x.shape))
        let m = outChannels, k = g.rows, nCols = g.outSpatial
        let slabs = g.slabs
        x.values.withUnsafeBufferPointer { xp in
            weights.withUnsafeBufferPointer { wp in
                y.values.withUnsafeMutableBufferPointer { yp in
                    let xb = xp.baseAddress!, wb = wp.baseAddress!, yb = yp.baseAddress!
                    parallelChunks(x.shape.batch * slabs, threads: threads) { chunk in
                        let n = chunk / slabs, slab = chunk % slabs
                        let planes = g.planeRange(slab)
                        let c0 = planes.lowerBound * g.outPlane, cols = planes.count * g.outPlane
                        let out = yb + n * m * nCols + c0
                        for o in 0..<m {
                            let row = out + o * nCols, b = bias[o]
                            for q in 0..<cols { row[q] = b }
                        }
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: k * cols) { col in
                            g.vol2col(xb + n * g.inItem, planes: planes, into: col.baseAddress!)
                            _OpenBLAS.sgemm(transposeA: false, transposeB: false, m: m, n: cols, k: k,
                                            alpha: 1, a: wb, lda: k, b: col.baseAddress!, ldb: cols,
                                            beta: 1, c: out, ldc: nCols)
                        }
                    }
                }
            }
        }
        return y
    }

    /// Gradients of a scalar loss given `dy = ∂L/∂y` at the input `x` of ``forward(_:threads:)``.
    ///
    /// - `weights = ∂L/∂w = Σ_n dY_n · col_nᵀ` (same layout as ``weights``), `bias = Σ dy` per channel;
    /// - `input = ∂L/∂x = col2vol(Wᵀ · dY)` when `inputGradient` is true, else nil.
    ///
    /// Reductions over chunks are summed in chunk order: bit-identical for every `threads`.
    public func backward(input x: Tensor5, outputGradient dy: Tensor5, inputGradient: Bool,
                         threads: Int) -> (input: Tensor5?, weights: [Float], bias: [Float]) {
        precondition(x.shape.channels == inChannels, "Conv3D.backward: input channels")
        precondition(dy.shape == outputShape(for: x.shape), "Conv3D.backward: dy shape \(dy.shape) ≠ \(outputShape(for: x.shape))")
        let g = ConvGeometry(input: x.shape, stride: stride)
        let m = outChannels, k = g.rows, nCols = g.outSpatial
        let slabs = g.slabs, batch = x.shape.batch
        var partialW = [Float](repeating: 0, count: batch * slabs * m * k)
        var partialB = [Float](repeating: 0, count: batch * slabs * m)
        var dx: Tensor5? = inputGradient ? Tensor5(zeros: x.shape) : nil
        var dCol = [Float](repeating: 0, count: inputGradient ? k * nCols : 0)
        x.values.withUnsafeBufferPointer { xp in
        dy.values.withUnsafeBufferPointer { dyp in
        weights.withUnsafeBufferPointer { wp in
        partialW.withUnsafeMutableBufferPointer { pwp in
        partialB.withUnsafeMutableBufferPointer { pbp in
        dCol.withUnsafeMutableBufferPointer { dcp in
            let xb = xp.baseAddress!, dyb = dyp.baseAddress!, wb = wp.baseAddress!
            let pw = pwp.baseAddress!, pb = pbp.baseAddress!
            for n in 0..<batch {
                // Phase 1: per slab, dW partial, db partial and (optionally) the slab's columns of Wᵀ·dY.
                parallelChunks(slabs, threads: threads) { slab in
                    let planes = g.planeRange(slab)
                    let c0 = planes.lowerBound * g.outPlane, cols = planes.count * g.outPlane
                    let dyc = dyb + n * m * nCols + c0
                    let chunk = n * slabs + slab
                    for o in 0..<m {
                        var s: Float = 0
                        let row = dyc + o * nCols
                        for q in 0..<cols { s += row[q] }
                        pb[chunk * m + o] = s
                    }
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: k * cols) { col in
                        g.vol2col(xb + n * g.inItem, planes: planes, into: col.baseAddress!)
                        _OpenBLAS.sgemm(transposeA: false, transposeB: true, m: m, n: k, k: cols,
                                        alpha: 1, a: dyc, lda: nCols, b: col.baseAddress!, ldb: cols,
                                        beta: 0, c: pw + chunk * m * k, ldc: k)
                    }
                    if inputGradient {
                        _OpenBLAS.sgemm(transposeA: true, transposeB: false, m: k, n: cols, k: m,
                                        alpha: 1, a: wb, lda: k, b: dyc, ldb: nCols,
                                        beta: 0, c: dcp.baseAddress! + c0, ldc: nCols)
                    }
                }
                // Phase 2: scatter the columns back, one input channel per chunk (disjoint writes).
                if inputGradient {
                    let dcb = UnsafePointer(dcp.baseAddress!)
                    dx!.values.withUnsafeMutableBufferPointer { dxp in
                        let dxb = dxp.baseAddress! + n * g.inItem
                        parallelChunks(inChannels, threads: threads) { c in
                            g.col2vol(dcb, channel: c, into: dxb)
                        }
                    }
                }
            }
        }}}}}}
        // Sum the partials in chunk order.
        var dw = [Float](repeating: 0, count: m * k)
        var db = [Float](repeating: 0, count: m)
        for chunk in 0..<(batch * slabs) {
            for e in 0..<(m * k) { dw[e] += partialW[chunk * m * k + e] }
            for o in 0..<m { db[o] += partialB[chunk * m + o] }
        }
        return (dx, dw, db)
    }
}
