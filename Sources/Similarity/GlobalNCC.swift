import VolumeCore

/// Global normalised cross-correlation: the (weighted) Pearson correlation of warped and atlas.
///
/// With weights `w` (the mask), `W = Σ w`, means `x̄ = Σ w·x / W`, `ā = Σ w·a / W`:
///
///     S = Σ w (x − x̄)(a − ā) / sqrt(Σ w (x − x̄)² · Σ w (a − ā)²)    ∈ [−1, 1]
///     ∂S/∂x_n = w_n / sqrt(V_x·V_a) · [(a_n − ā) − (C/V_x)(x_n − x̄)]
///
/// with `C` the numerator and `V_x`, `V_a` the two sums of squares (the mean terms drop out
/// of the gradient because `Σ w (a − ā) = 0`). Dimensionless, invariant to affine intensity
/// changes `x ↦ αx + β` with `α > 0`. Voxels of weight 0 get gradient 0.
///
/// What does not hold: when either image is constant over the mask (`V = 0`) the correlation
/// is undefined; the value and gradient are then reported as 0.
///
/// Sums are accumulated in Double over fixed chunks of voxels combined in chunk order, so the
/// result is bit-identical for any `threads`.
public struct GlobalNCC: SimilarityMeasure {
    public var threads: Int

    public init(threads: Int = ThreadPolicy.defaultThreadCount) {
        self.threads = threads
    }

    public func prepare(atlas: Volume, mask: [Float]?) -> PreparedGlobalNCC {
        PreparedGlobalNCC(atlas: atlas.voxels, mask: mask, threads: threads)
    }
}

/// ``GlobalNCC`` with the atlas mean, centred atlas and its sum of squares precomputed.
public struct PreparedGlobalNCC: PreparedSimilarity {
    public let threads: Int
    let weights: [Float]?
    /// `w·(a − ā)` per voxel.
    let weightedCentredAtlas: [Float]
    let totalWeight: Double
    /// `V_a = Σ w (a − ā)²`.
    let atlasSumOfSquares: Double

    public init(atlas: [Float], mask: [Float]?, threads: Int = ThreadPolicy.defaultThreadCount) {
        let count = atlas.count
        precondition(mask == nil || mask!.count == count, "mask has \(mask!.count) values, atlas \(count)")
        self.threads = threads
        weights = mask
        let first = deterministicSum(count: count, threads: threads) { range in
            var s = SIMD4<Double>.zero
            for n in range {
                let w = Double(mask?[n] ?? 1)
                precondition(w >= 0, "mask weights must be ≥ 0")
                s.x += w; s.y += w * Double(atlas[n])
            }
            return s
        }
        totalWeight = first.x
        let mean = first.x > 0 ? first.y / first.x : 0
        atlasSumOfSquares = deterministicSum(count: count, threads: threads) { range in
            var s = SIMD4<Double>.zero
            for n in range {
                let d = Double(atlas[n]) - mean
                s.x += Double(mask?[n] ?? 1) * d * d
            }
            return s
        }.x
        weightedCentredAtlas = parallelFill(count: count, threads: threads) { range, out in
            for n in range { out[n] = Float(Double(mask?[n] ?? 1) * (Double(atlas[n]) - mean)) }
        }
    }

    public func evaluate(warped x: [Float]) -> (value: Double, gradient: [Float]) {
        let r = evaluateWithMoments(warped: x)
        return (r.value, r.gradient)
    }

    /// ``evaluate(warped:)`` and the warped image's weighted mean `x̄` and sum of squares `V_x`
    /// (nil where the value is reported as 0: no weight, or either image constant).
    func evaluateWithMoments(warped x: [Float]) -> (value: Double, gradient: [Float], moments: (mean: Double, vx: Double)?) {
        let count = weightedCentredAtlas.count
        precondition(x.count == count, "warped has \(x.count) voxels, atlas \(count)")
        let w = weights, wa = weightedCentredAtlas
        let sumWX = deterministicSum(count: count, threads: threads) { range in
            var s = 0.0
            for n in range { s += Double(w?[n] ?? 1) * Double(x[n]) }
            return SIMD4(s, 0, 0, 0)
        }.x
        guard totalWeight > 0 else { return (0, [Float](repeating: 0, count: count), nil) }
        let mean = sumWX / totalWeight
        let second = deterministicSum(count: count, threads: threads) { range in
            var s = SIMD4<Double>.zero
            for n in range {
                let d = Double(x[n]) - mean
                s.x += d * Double(wa[n])               // Σ w (x − x̄)(a − ā)
                s.y += Double(w?[n] ?? 1) * d * d      // Σ w (x − x̄)²
            }
            return s
        }
        let (c, vx, va) = (second.x, second.y, atlasSumOfSquares)
        guard vx > 0, va > 0 else { return (0, [Float](repeating: 0, count: count), nil) }
        let norm = 1 / (vx * va).squareRoot()
        let ratio = c / vx
        let gradient = parallelFill(count: count, threads: threads) { range, out in
            for n in range {
                let wn = Double(w?[n] ?? 1)
                out[n] = Float(norm * (Double(wa[n]) - ratio * wn * (Double(x[n]) - mean)))
            }
        }
        return (c * norm, gradient, (mean, vx))
    }
}

/// Global NCC of `warped` against `atlas` over `mask` weights; see ``GlobalNCC``.
public func ncc(warped: [Float], atlas: [Float], mask: [Float]?,
                threads: Int = ThreadPolicy.defaultThreadCount) -> (value: Double, gradient: [Float]) {
    PreparedGlobalNCC(atlas: atlas, mask: mask, threads: threads).evaluate(warped: warped)
}
