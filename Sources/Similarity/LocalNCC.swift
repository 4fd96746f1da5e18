import VolumeCore

/// Local (windowed) normalised cross-correlation, as ANTs' `CC` metric and VoxelMorph's `NCC`
/// loss: the mean over voxels of the squared correlation in a `(2r+1)³` window.
///
/// With `I` = warped, `J` = atlas, and window sums `S·` over the clipped box around `x`
/// (``BoxWindow``; `n(x)` voxels in the window):
///
///     cross(x) = S_IJ − S_I·S_J / n        (n × local covariance)
///     varI(x)  = S_II − S_I² / n,  varJ(x) = S_JJ − S_J² / n
///     cc(x)    = cross² / (varI·varJ + ε)    ∈ [0, 1)
///     value    = Σ_x m(x)·cc(x) / Σ_x m(x)
///
/// `m` is the mask (weights ≥ 0, `nil` = 1): it weights which voxels' `cc` are averaged; the
/// windows themselves use every voxel of the volume (as ANTs does with a fixed mask).
/// Windows are clipped at the volume border (VoxelMorph instead zero-pads with a constant `n`).
///
/// **Gradient.** With `α = 2·cross/D`, `β = 2·cross²·varJ/D²`, `D = varI·varJ + ε`,
/// weights `ω = m / Σm`, `uI = S_I/n`, `uJ = S_J/n`:
///
///     ∂value/∂I(y) = J(y)·B[ωα](y) − B[ωα·uJ](y) − I(y)·B[ωβ](y) + B[ωβ·uI](y)
///
/// where `B[·]` is the same box sum (it is self-adjoint). Seven box sums per evaluation
/// (three forward, four backward), two more once for the atlas.
///
/// **Units.** `ε` (default 1e-5, as VoxelMorph) is in units of intensity⁴·voxels²: it only
/// guards against division by zero for intensities of order 1 (normalise first). Both images
/// are centred on their global means before the sums (the value and gradient are invariant
/// to that) to reduce Float32 cancellation in `S_II − S_I²/n`.
///
/// What does not hold: `cc` is not the signed correlation (anti-correlated windows count as
/// similar, as in ANTs/VoxelMorph); in flat windows (`varI·varJ ≪ ε`) `cc → 0`.
/// Bit-identical for any `threads`.
public struct LocalNCC: SimilarityMeasure {
    /// Window half-width in voxels (window side `2r + 1`).
    public var radius: Int
    public var epsilon: Double
    public var method: WindowedSumMethod
    public var threads: Int

    public init(radius: Int = 2, epsilon: Double = 1e-5, method: WindowedSumMethod = .runningSums,
                threads: Int = ThreadPolicy.defaultThreadCount) {
        precondition(radius >= 0, "window radius must be ≥ 0")
        precondition(epsilon >= 0, "epsilon must be ≥ 0")
        self.radius = radius
        self.epsilon = epsilon
        self.method = method
        self.threads = threads
    }

    public func prepare(atlas: Volume, mask: [Float]?) -> PreparedLocalNCC {
        PreparedLocalNCC(atlas: atlas.voxels, dims: atlas.dims, mask: mask, measure: self)
    }
}

/// ``LocalNCC`` with the atlas window sums, window counts and mask weights precomputed.
public struct PreparedLocalNCC: PreparedSimilarity {
    public let measure: LocalNCC
    public let window: BoxWindow
    /// Atlas centred on its mean.
    let atlas: [Float]
    let sumJ: [Float]
    /// `varJ = S_JJ − S_J²/n` per voxel.
    let varJ: [Float]
    /// `m / Σm` per voxel (nil when there is no mask: then 1/N).
    let weights: [Float]?
    let uniformWeight: Double

    public init(atlas: [Float], dims: SIMD3<Int>, mask: [Float]?, measure: LocalNCC) {
        let count = dims.x * dims.y * dims.z
        precondition(atlas.count == count, "atlas has \(atlas.count) voxels, shape \(dims) needs \(count)")
        precondition(mask == nil || mask!.count == count, "mask has \(mask!.count) values, atlas \(count)")
        let threads = measure.threads
        self.measure = measure
        window = BoxWindow(dims: dims, radius: measure.radius, method: measure.method)
        let centred = centredOnMean(atlas, threads: threads)
        self.atlas = centred
        let sums = window.sums(of: [centred, centred.map { $0 * $0 }], threads: threads)
        sumJ = sums[0]
        let counts = window.counts
        varJ = parallelFill(count: count, threads: threads) { range, out in
            for n in range {
                let s = Double(sums[0][n])
                out[n] = Float(max(0, Double(sums[1][n]) - s * s / Double(counts[n])))
            }
        }
        weights = mask.map { normalisedWeights($0, threads: threads) }
        uniformWeight = 1 / Double(count)
    }

    private init(copying other: PreparedLocalNCC, weights: [Float]?) {
        measure = other.measure
        window = other.window
        atlas = other.atlas
        sumJ = other.sumJ
        varJ = other.varJ
        self.weights = weights
        uniformWeight = other.uniformWeight
    }

    /// The same atlas with another mask: reuses the atlas window sums (they do not depend on
    /// the mask) and recomputes only the weights. Identical to preparing the atlas again.
    public func reweighted(mask: [Float]) -> PreparedLocalNCC {
        precondition(mask.count == atlas.count, "mask has \(mask.count) values, atlas \(atlas.count)")
        return PreparedLocalNCC(copying: self, weights: normalisedWeights(mask, threads: measure.threads))
    }

    public func evaluate(warped: [Float]) -> (value: Double, gradient: [Float]) {
        let r = evaluate(warped: warped, curvatureSources: false)
        return (r.value, r.gradient)
    }

    /// What the Gauss-Newton curvature needs per window centre `x` (see
    /// ``evaluateWithCurvature(warped:spatialGradient:)``): `c = 2·ω·cc/varI`, `c/varI`, the
    /// centred warped image and its window sums `S_I`.
    struct CurvatureSources {
        var weight: [Float]
        var weightOverVariance: [Float]
        var centred: [Float]
        var windowSum: [Float]
    }

    /// The value, the gradient and, with `curvatureSources`, the ``CurvatureSources``.
    func evaluate(warped: [Float], curvatureSources: Bool) -> (value: Double, gradient: [Float], sources: CurvatureSources?) {
        let count = atlas.count
        precondition(warped.count == count, "warped has \(warped.count) voxels, atlas \(count)")
        let threads = measure.threads, eps = measure.epsilon
        let j = atlas
        let (i, ii, ij) = centredSquareAndProduct(warped, atlas: j, threads: threads)
        let s = window.sums(of: [i, ii, ij], threads: threads)
        let (sI, sII, sIJ) = (s[0], s[1], s[2])
        let sJ = sumJ, vJ = varJ, counts = window.counts, w = weights, uw = uniformWeight

        // Per voxel: cc (for the value) and the four inputs of the backward box sums.
        var backA = [Float](repeating: 0, count: count), backB = backA, backC = backA, backE = backA
        var sources = [Float](repeating: 0, count: curvatureSources ? 2 * count : 0)
        var partials = [Double](repeating: 0, count: chunkCount(count))
        backA.withUnsafeMutableBufferPointer { a in backB.withUnsafeMutableBufferPointer { b in
        backC.withUnsafeMutableBufferPointer { c in backE.withUnsafeMutableBufferPointer { e in
        partials.withUnsafeMutableBufferPointer { p in sources.withUnsafeMutableBufferPointer { h in
            let out = UncheckedSendable((a.baseAddress!, b.baseAddress!, c.baseAddress!, e.baseAddress!, p.baseAddress!,
                                         curvatureSources ? h.baseAddress : nil))
            let chunks = chunkCount(count)
            parallelChunks(chunks, threads: threads) { chunk in
                let (a, b, c, e, p, h) = out.value
                var value = 0.0
                for n in chunkRange(chunk, of: chunks, count: count) {
                    let invN = 1 / Double(counts[n])
                    let si = Double(sI[n]), sj = Double(sJ[n])
                    let cross = Double(sIJ[n]) - si * sj * invN
                    let varI = max(0, Double(sII[n]) - si * si * invN)
                    let varJ = Double(vJ[n])
                    let d = varI * varJ + eps
                    let omega = w.map { Double($0[n]) } ?? uw
                    guard d > 0 else { a[n] = 0; b[n] = 0; c[n] = 0; e[n] = 0; continue }
                    let invD = 1 / d
                    let alpha = omega * 2 * cross * invD
                    let beta = alpha * cross * varJ * invD
                    value += omega * cross * cross * invD
                    a[n] = Float(alpha)
                    b[n] = Float(alpha * sj * invN)
                    c[n] = Float(beta)
                    e[n] = Float(beta * si * invN)
                    if let h, varI > 0 {
                        let c = alpha * cross / varI
                        h[n] = Float(c)
                        h[count + n] = Float(c / varI)
                    }
                }
                p[chunk] = value
            }
        } } } } } }
        let value = partials.reduce(0, +)
        let back = window.sums(of: [backA, backB, backC, backE], threads: threads)
        let gradient = parallelFill(count: count, threads: threads) { range, out in
            for n in range {
                let g = Double(j[n]) * Double(back[0][n]) - Double(back[1][n])
                    - Double(i[n]) * Double(back[2][n]) + Double(back[3][n])
                out[n] = Float(g)
            }
        }
        let extra = curvatureSources
            ? CurvatureSources(weight: Array(sources[0..<count]), weightOverVariance: Array(sources[count...]), centred: i, windowSum: sI)
            : nil
        return (value, gradient, extra)
    }
}

/// `mean(x)` as Float (accumulated in Double, deterministic chunks).
private func floatMean(_ x: [Float], threads: Int) -> Float {
    let sum = deterministicSum(count: x.count, threads: threads) { range in
        var s = 0.0
        for n in range { s += Double(x[n]) }
        return SIMD4(s, 0, 0, 0)
    }.x
    return Float(sum / Double(max(1, x.count)))
}

/// `x − mean(x)`.
private func centredOnMean(_ x: [Float], threads: Int) -> [Float] {
    let mean = floatMean(x, threads: threads)
    return parallelFill(count: x.count, threads: threads) { range, out in
        for n in range { out[n] = x[n] - mean }
    }
}

/// `i = x − mean(x)`, `i²` and `i·atlas`, in one parallel pass (the evaluation's three
/// forward fields; the same values as three separate maps).
private func centredSquareAndProduct(_ x: [Float], atlas j: [Float], threads: Int) -> (centred: [Float], squared: [Float], product: [Float]) {
    let count = x.count
    let mean = floatMean(x, threads: threads)
    var centred: [Float] = [], product: [Float] = []
    let squared = [Float](unsafeUninitializedCapacity: count) { sq, sqCount in
        product = [Float](unsafeUninitializedCapacity: count) { pr, prCount in
            let out = UncheckedSendable((sq.baseAddress!, pr.baseAddress!))
            centred = parallelFill(count: count, threads: threads) { range, c in
                let (sq, pr) = out.value
                for n in range {
                    let v = x[n] - mean
                    c[n] = v
                    sq[n] = v * v
                    pr[n] = v * j[n]
                }
            }
            prCount = count
        }
        sqCount = count
    }
    return (centred, squared, product)
}
