import VolumeCore

/// The correlation ratio (Roche et al. 1998; FSL FLIRT's default cost): how much of the warped
/// scan's variance the atlas's intensity explains, whatever the function that maps one to the
/// other — so it holds across contrasts, and it asks less of the data than mutual information
/// (a conditional mean per atlas bin, not a joint density).
///
/// The atlas (on [0, 1], clamped) falls in `B` hard bins `α(a) = min(B − 1, ⌊a·B⌋)`. With mask
/// weights `w`, `W = Σ w`, the warped scan `x`, per bin `b` its weighted mean `μ_b` and overall
/// mean `μ`:
///
///     A = Σₙ wₙ (xₙ − μ_{α(aₙ)})²   (within-bin scatter),   V = Σₙ wₙ (xₙ − μ)²   (total)
///     value = η² = 1 − A / V   ∈ [0, 1]
///     ∂value/∂xₙ = −2 wₙ [(xₙ − μ_{α(aₙ)}) / V − A (xₙ − μ) / V²]
///
/// (the means' own derivatives drop out: each scatter is stationary in its mean). Higher is more
/// similar; 1 when the scan is a function of the atlas bins. Not symmetric: η²(scan | atlas),
/// as FLIRT's "input given reference". Per-bin sums in Double over fixed chunks, combined in chunk
/// order: the same bits for any `threads`. What does not hold: a constant scan (V = 0) scores 0
/// with a zero gradient; bins hold atlas intensities only, so the value does not change with the
/// scan's intensity scale (nor does its optimum), but the gradient does (∝ 1/scale).
public struct CorrelationRatio: SimilarityMeasure {
    /// Atlas intensity bins (FLIRT uses 256 for 8-bit images; 32 here, as the MI measure).
    public var bins: Int
    public var threads: Int

    public init(bins: Int = 32, threads: Int = ThreadPolicy.defaultThreadCount) {
        precondition(bins >= 2 && bins <= 1024, "CorrelationRatio: 2 to 1024 bins")
        self.bins = bins
        self.threads = threads
    }

    public func prepare(atlas: Volume, mask: [Float]?) -> PreparedCorrelationRatio {
        PreparedCorrelationRatio(atlas: atlas.voxels, mask: mask, bins: bins, threads: threads)
    }
}

/// ``CorrelationRatio`` with the atlas bins and the weights precomputed.
public struct PreparedCorrelationRatio: PreparedSimilarity {
    public let bins: Int
    public let threads: Int
    /// Atlas bin per voxel; −1 for voxels of weight 0 (skipped).
    let atlasBin: [Int32]
    let weights: [Float]?

    public init(atlas: [Float], mask: [Float]?, bins: Int = 32, threads: Int = ThreadPolicy.defaultThreadCount) {
        self.bins = bins
        self.threads = threads
        weights = mask
        atlasBin = atlasHardBins(atlas, mask: mask, bins: bins).bin
    }

    /// Per bin: Σw, Σw·x, Σw·x² (bin-major, 3 values each), in Double, chunk order.
    func binSums(_ warped: [Float]) -> [Double] {
        precondition(warped.count == atlasBin.count, "warped has \(warped.count) values, atlas \(atlasBin.count)")
        let count = warped.count, b = bins
        let chunks = chunkCount(count)
        var partial = [Double](repeating: 0, count: chunks * 3 * b)
        partial.withUnsafeMutableBufferPointer { buf in
            let out = UncheckedSendable(buf.baseAddress!)
            parallelChunks(chunks, threads: threads) { c in
                let s = out.value + c * 3 * b
                for n in chunkRange(c, of: chunks, count: count) {
                    let a = Int(atlasBin[n])
                    guard a >= 0 else { continue }
                    let w = Double(weights?[n] ?? 1), x = Double(warped[n].isFinite ? warped[n] : 0)
                    s[3 * a] += w; s[3 * a + 1] += w * x; s[3 * a + 2] += w * x * x
                }
            }
        }
        var total = [Double](repeating: 0, count: 3 * b)
        for c in 0..<chunks { for e in 0..<(3 * b) { total[e] += partial[c * 3 * b + e] } }
        return total
    }

    /// η², the bin means, the overall mean, A and V (zero V: a constant scan).
    func statistics(_ sums: [Double]) -> (value: Double, binMean: [Double], mean: Double, within: Double, total: Double) {
        var w = 0.0, sx = 0.0, sxx = 0.0, within = 0.0
        var binMean = [Double](repeating: 0, count: bins)
        for b in 0..<bins {
            let wb = sums[3 * b], sb = sums[3 * b + 1], qb = sums[3 * b + 2]
            w += wb; sx += sb; sxx += qb
            guard wb > 0 else { continue }
            binMean[b] = sb / wb
            within += max(0, qb - sb * sb / wb)
        }
        guard w > 0 else { return (0, binMean, 0, 0, 0) }
        let mean = sx / w
        let total = max(0, sxx - sx * sx / w)
        // Below ~1e-12 of W the scan is constant to rounding: no variance to explain.
        guard total > 1e-12 * w else { return (0, binMean, mean, within, 0) }
        return (max(0, 1 - within / total), binMean, mean, within, total)
    }

    public func evaluate(warped: [Float]) -> (value: Double, gradient: [Float]) {
        let st = statistics(binSums(warped))
        guard st.total > 0 else { return (st.value, [Float](repeating: 0, count: warped.count)) }
        let v = st.total, a = st.within
        let gradient = parallelFill(count: warped.count, threads: threads) { range, out in
            for n in range {
                let b = Int(atlasBin[n])
                guard b >= 0, warped[n].isFinite else { out[n] = 0; continue }
                let x = Double(warped[n]), w = Double(weights?[n] ?? 1)
                out[n] = Float(-2 * w * ((x - st.binMean[b]) / v - a * (x - st.mean) / (v * v)))
            }
        }
        return (st.value, gradient)
    }

    /// η² alone (no gradient pass).
    public func value(warped: [Float]) -> Double { statistics(binSums(warped)).value }
}
