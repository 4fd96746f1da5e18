import Foundation
import VolumeCore

/// Group normalisation (Wu & He 2018) with a learned per-channel scale and shift.
///
/// Channels are split into `groups` consecutive groups; for each batch item and group,
/// over its `C/G · D·H·W` values:
///
///     x̂ = (x − μ) / √(σ² + ε),   y = γ[c] · x̂ + β[c]
///
/// with the population variance σ². `groups == channels` is instance normalisation,
/// `groups == 1` layer normalisation. Statistics are accumulated in Double, sequentially.
///
/// Does not hold: with instance normalisation directly before global average pooling the
/// pooled value of a channel is (nearly) β[c] whatever the input — keep several channels per
/// group, as ``NetworkArchitecture`` does. A group of one voxel and one channel outputs β.
public struct GroupNorm: Sendable, Equatable {
    public let channels: Int
    public let groups: Int
    public let epsilon: Float
    /// γ, `channels` values (initialised to 1).
    public var scale: [Float]
    /// β, `channels` values (initialised to 0).
    public var shift: [Float]

    public init(channels: Int, groups: Int, epsilon: Float = 1e-5) {
        precondition(groups > 0 && channels % groups == 0, "GroupNorm: \(groups) groups do not divide \(channels) channels")
        self.channels = channels
        self.groups = groups
        self.epsilon = epsilon
        scale = [Float](repeating: 1, count: channels)
        shift = [Float](repeating: 0, count: channels)
    }

    /// Mean and 1/√(σ²+ε) of group `g` of item `n`.
    private func statistics(_ x: UnsafePointer<Float>, count: Int) -> (mean: Float, invStd: Float) {
        var s = 0.0, ss = 0.0
        for q in 0..<count { let v = Double(x[q]); s += v; ss += v * v }
        let mean = s / Double(count)
        let variance = max(0, ss / Double(count) - mean * mean)
        return (Float(mean), Float(1 / (variance + Double(epsilon)).squareRoot()))
    }

    public func forward(_ x: Tensor5, threads: Int) -> Tensor5 {
        precondition(x.shape.channels == channels, "GroupNorm: input has \(x.shape.channels) channels, expected \(channels)")
        var y = Tensor5(zeros: x.shape)
        let cpg = channels / groups, spatial = x.shape.spatialCount, groupCount = cpg * spatial
        x.values.withUnsafeBufferPointer { xp in
            y.values.withUnsafeMutableBufferPointer { yp in
                let xb = xp.baseAddress!, yb = yp.baseAddress!
                parallelChunks(x.shape.batch * groups, threads: threads) { chunk in
                    let base = chunk * groupCount
                    let (mean, invStd) = statistics(xb + base, count: groupCount)
                    for cc in 0..<cpg {
                        let c = (chunk % groups) * cpg + cc
                        let a = scale[c] * invStd, b = shift[c] - mean * a
                        let src = xb + base + cc * spatial, dst = yb + base + cc * spatial
                        for q in 0..<spatial { dst[q] = src[q] * a + b }
                    }
                }
            }
        }
        return y
    }

    /// Gradients given `dy` at the input `x` of ``forward(_:threads:)``:
    ///
    ///     ∂L/∂x = (1/σ̂) · (g − mean(g) − x̂ · mean(g · x̂)),  g = γ · dy  (means over the group)
    ///     ∂L/∂γ[c] = Σ dy · x̂,   ∂L/∂β[c] = Σ dy
    public func backward(input x: Tensor5, outputGradient dy: Tensor5,
                         threads: Int) -> (input: Tensor5, scale: [Float], shift: [Float]) {
        precondition(x.shape == dy.shape && x.shape.channels == channels, "GroupNorm.backward: shapes")
        let batch = x.shape.batch
        let cpg = channels / groups, spatial = x.shape.spatialCount, groupCount = cpg * spatial
        var dx = Tensor5(zeros: x.shape)
        var partialScale = [Float](repeating: 0, count: batch * channels)
        var partialShift = [Float](repeating: 0, count: batch * channels)
        x.values.withUnsafeBufferPointer { xp in
        dy.values.withUnsafeBufferPointer { dyp in
        dx.values.withUnsafeMutableBufferPointer { dxp in
        partialScale.withUnsafeMutableBufferPointer { psp in
        partialShift.withUnsafeMutableBufferPointer { pbp in
            let xb = xp.baseAddress!, dyb = dyp.baseAddress!, dxb = dxp.baseAddress!
            let ps = psp.baseAddress!, pb = pbp.baseAddress!
            parallelChunks(batch * groups, threads: threads) { chunk in
                let base = chunk * groupCount, n = chunk / groups
                let (mean, invStd) = statistics(xb + base, count: groupCount)
                var sumG = 0.0, sumGX = 0.0
                for cc in 0..<cpg {
                    let c = (chunk % groups) * cpg + cc
                    let src = xb + base + cc * spatial, d = dyb + base + cc * spatial
                    var sdy = 0.0, sdyx = 0.0
                    for q in 0..<spatial {
                        let xh = Double((src[q] - mean) * invStd), g = Double(d[q])
                        sdy += g; sdyx += g * xh
                    }
                    ps[n * channels + c] = Float(sdyx)
                    pb[n * channels + c] = Float(sdy)
                    sumG += Double(scale[c]) * sdy
                    sumGX += Double(scale[c]) * sdyx
                }
                let meanG = Float(sumG / Double(groupCount)), meanGX = Float(sumGX / Double(groupCount))
                for cc in 0..<cpg {
                    let c = (chunk % groups) * cpg + cc
                    let src = xb + base + cc * spatial, d = dyb + base + cc * spatial, out = dxb + base + cc * spatial
                    let gamma = scale[c]
                    for q in 0..<spatial {
                        let xh = (src[q] - mean) * invStd
                        out[q] = invStd * (gamma * d[q] - meanG - xh * meanGX)
                    }
                }
            }
        }}}}}
        var dScale = [Float](repeating: 0, count: channels), dShift = [Float](repeating: 0, count: channels)
        for n in 0..<batch {
            for c in 0..<channels {
                dScale[c] += partialScale[n * channels + c]
                dShift[c] += partialShift[n * channels + c]
            }
        }
        return (dx, dScale, dShift)
    }
}
