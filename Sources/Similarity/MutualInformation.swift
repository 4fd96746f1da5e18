import Foundation
import VolumeCore

/// Mattes mutual information (Mattes et al. 2003, as in ITK and elastix): a measure that holds
/// across contrasts (T2, PD, FLAIR, EPI against a T1 atlas) because it asks only that one
/// image's intensities predict the other's, not that they be linearly related.
///
/// Both images are expected on [0, 1] (the pipeline's robust normalisation clamps to it; values
/// outside are clamped here too). With `B` bins, the atlas value `a` falls in the hard bin
/// `α(a) = min(B − 1, ⌊a·B⌋)` (zero-order Parzen window); the warped value `x` sits at the
/// continuous bin coordinate `ξ(x) = 1 + x·(B − 4)` and spreads over the 4 bins around it with
/// the cubic B-spline `β₃` (so the histogram is differentiable in `x`). With weights `w` (the
/// mask), `W = Σ w`:
///
///     p(α, s) = Σₙ wₙ [α(aₙ) = α] β₃(s − ξ(xₙ)) / W,   p_s(s) = Σ_α p(α, s),   p_a(α) = Σ_s p(α, s)
///     MI = Σ p log(p / (p_a p_s))                                            (nats, ≥ 0)
///     ∂MI/∂xₙ = (wₙ / W) (B − 4) Σ_s −β₃′(s − ξₙ) [log p(α(aₙ), s) − log p_s(s)]
///
/// (`p_a` does not depend on `x`, and `Σ_s β₃′ = 0` removes the derivative of the logarithms.)
/// Higher is more similar. What does not hold: MI is not bounded by 1 and its scale depends on
/// the images' entropies (use ``PreparedMattesMI/normalised(warped:)`` to compare across
/// scans); a warped value clamped at 0 or 1 has zero gradient there; the measure ignores where
/// voxels are (two images with the same joint histogram score the same).
///
/// Partial histograms are accumulated in Double over fixed chunks of voxels and combined in
/// chunk order, so value and gradient are bit-identical for any `threads`.
public struct MattesMI: SimilarityMeasure {
    /// Histogram bins per image (ITK's and elastix's defaults are 32 to 64).
    public var bins: Int
    public var threads: Int

    public init(bins: Int = 32, threads: Int = ThreadPolicy.defaultThreadCount) {
        precondition(bins >= 8 && bins <= 256, "MattesMI: 8 to 256 bins")
        self.bins = bins
        self.threads = threads
    }

    public func prepare(atlas: Volume, mask: [Float]?) -> PreparedMattesMI {
        PreparedMattesMI(atlas: atlas.voxels, mask: mask, bins: bins, threads: threads)
    }
}

/// ``MattesMI`` with the atlas bins and the mask precomputed.
public struct PreparedMattesMI: PreparedSimilarity {
    public let bins: Int
    public let threads: Int
    /// Atlas bin per voxel; −1 for voxels of weight 0 (skipped).
    let atlasBin: [Int32]
    let weights: [Float]?
    let totalWeight: Double

    public init(atlas: [Float], mask: [Float]?, bins: Int = 32, threads: Int = ThreadPolicy.defaultThreadCount) {
        self.bins = bins
        self.threads = threads
        weights = mask
        (atlasBin, totalWeight) = atlasHardBins(atlas, mask: mask, bins: bins)
    }

    /// The cubic B-spline weights of the 4 bins from `s₀ = ⌊ξ⌋ − 1` at fraction `t = ξ − ⌊ξ⌋`,
    /// and their derivatives with respect to ξ.
    @inline(__always)
    static func spline(_ t: Double) -> (SIMD4<Double>, SIMD4<Double>) {
        let u = 1 - t, t2 = t * t, t3 = t2 * t
        let w = SIMD4(u * u * u / 6, (3 * t3 - 6 * t2 + 4) / 6, (-3 * t3 + 3 * t2 + 3 * t + 1) / 6, t3 / 6)
        let d = SIMD4(-u * u / 2, 1.5 * t2 - 2 * t, -1.5 * t2 + t + 0.5, t2 / 2)
        return (w, d)
    }

    /// Continuous bin coordinate split into the first bin and the fraction.
    @inline(__always)
    func position(_ x: Float) -> (Int, Double) {
        let v = x.isFinite ? min(1, max(0, Double(x))) : 0
        let xi = 1 + v * Double(bins - 4)
        let f = min(Double(bins - 4), xi.rounded(.down))
        return (Int(f) - 1, xi - f)
    }

    /// The joint histogram `p(α, s)` (row `α`, `bins × bins`, normalised to sum 1).
    func jointHistogram(_ warped: [Float]) -> [Double] {
        precondition(warped.count == atlasBin.count, "warped has \(warped.count) values, atlas \(atlasBin.count)")
        let count = warped.count, b = bins
        let chunks = chunkCount(count)
        var partial = [Double](repeating: 0, count: chunks * b * b)
        partial.withUnsafeMutableBufferPointer { buf in
            let out = UncheckedSendable(buf.baseAddress!)
            parallelChunks(chunks, threads: threads) { c in
                let h = out.value + c * b * b
                for n in chunkRange(c, of: chunks, count: count) {
                    let a = Int(atlasBin[n])
                    guard a >= 0 else { continue }
                    let w = Double(weights?[n] ?? 1)
                    let (s0, t) = position(warped[n])
                    let (sw, _) = PreparedMattesMI.spline(t)
                    let row = h + a * b + s0
                    row[0] += w * sw[0]; row[1] += w * sw[1]; row[2] += w * sw[2]; row[3] += w * sw[3]
                }
            }
        }
        var joint = [Double](repeating: 0, count: b * b)
        for c in 0..<chunks { for e in 0..<(b * b) { joint[e] += partial[c * b * b + e] } }
        let scale = totalWeight > 0 ? 1 / totalWeight : 0
        for e in joint.indices { joint[e] *= scale }
        return joint
    }

    /// MI and the entropies of the atlas, the warped scan and the pair (nats).
    func statistics(_ joint: [Double]) -> (mi: Double, atlasEntropy: Double, scanEntropy: Double, jointEntropy: Double,
                                           scanMarginal: [Double]) {
        let b = bins
        var pa = [Double](repeating: 0, count: b), ps = [Double](repeating: 0, count: b)
        for a in 0..<b { for s in 0..<b { let p = joint[a * b + s]; pa[a] += p; ps[s] += p } }
        func entropy(_ p: [Double]) -> Double { p.reduce(0) { $0 - ($1 > 0 ? $1 * log($1) : 0) } }
        let ha = entropy(pa), hs = entropy(ps), hj = entropy(joint)
        return (ha + hs - hj, ha, hs, hj, ps)
    }

    public func evaluate(warped: [Float]) -> (value: Double, gradient: [Float]) {
        let b = bins
        let joint = jointHistogram(warped)
        let st = statistics(joint)
        guard totalWeight > 0 else { return (0, [Float](repeating: 0, count: warped.count)) }
        // L(α, s) = log p(α, s) − log p_s(s) where p > 0 (elsewhere no voxel reads it).
        var table = [Double](repeating: 0, count: b * b)
        for a in 0..<b {
            for s in 0..<b where joint[a * b + s] > 0 && st.scanMarginal[s] > 0 {
                table[a * b + s] = log(joint[a * b + s]) - log(st.scanMarginal[s])
            }
        }
        let scale = Double(b - 4) / totalWeight
        let gradient = parallelFill(count: warped.count, threads: threads) { range, out in
            for n in range {
                let a = Int(atlasBin[n])
                let x = warped[n]
                guard a >= 0, x >= 0, x <= 1 else { out[n] = 0; continue }
                let (s0, t) = position(x)
                let (_, d) = PreparedMattesMI.spline(t)
                let row = a * b + s0
                let g = d[0] * table[row] + d[1] * table[row + 1] + d[2] * table[row + 2] + d[3] * table[row + 3]
                out[n] = Float(Double(weights?[n] ?? 1) * scale * g)
            }
        }
        return (st.mi, gradient)
    }

    /// The value alone (no gradient pass).
    public func value(warped: [Float]) -> Double { statistics(jointHistogram(warped)).mi }

    /// Normalised MI, the symmetric uncertainty `2·MI / (H(atlas) + H(warped))` ∈ [0, 1]: 0 for
    /// independent images, 1 when either determines the other. Comparable across contrasts and
    /// scans, so the quality check uses it.
    public func normalised(warped: [Float]) -> Double {
        let st = statistics(jointHistogram(warped))
        let h = st.atlasEntropy + st.scanEntropy
        // MI ≥ 0; rounding leaves ~1e-16 for independent images (e.g. a constant scan): report 0.
        return h > 0 && st.mi > 1e-12 ? 2 * st.mi / h : 0
    }
}
