import VolumeCore

/// A Gauss-Newton approximation of the curvature of the loss `L = −S` in the warped
/// intensities, in the form the sampler chains to the transform (see `AffineCurvature` in
/// Sampling and `Refinement` in Registration):
///
///     H ≈ Σ_n D_n · J_n J_nᵀ  −  Σ_k c_k · (Σ_n v_k,n J_n)(Σ_n v_k,n J_n)ᵀ  +  Σ_n M_n ⊗ h_n h_nᵀ
///
/// with `h_n = (i, j, k, 1)` the voxel's position, `g_n` the sampler's spatial gradient at the
/// sample point and `J_n = g_n ⊗ h_n = ∂warped_n/∂(voxel map)`. Global NCC uses the first two
/// terms, windowed NCC the third. Positive semi-definite where the measure says so.
public struct WarpedCurvature: Sendable {
    /// `D_n ≥ 0` per warped voxel, or nil.
    public var weights: [Float]?
    /// Rank-one corrections `(v_k, c_k)`.
    public var lowRank: [(weights: [Float], scale: Double)]
    /// A field of symmetric 3 × 3 matrices `M` (6 per voxel: xx, xy, xz, yy, yz, zz), in
    /// spatial-gradient units squared, or nil.
    public var tensor: [Float]?

    public init(weights: [Float]? = nil, lowRank: [(weights: [Float], scale: Double)] = [], tensor: [Float]? = nil) {
        self.weights = weights
        self.lowRank = lowRank
        self.tensor = tensor
    }
}

/// A prepared similarity that also gives a Gauss-Newton curvature (for a second-order
/// optimiser): the least-squares-shaped measures, global NCC and windowed NCC.
public protocol CurvatureSimilarity: PreparedSimilarity {
    /// Value and `∂S/∂warped` as ``PreparedSimilarity/evaluate(warped:)`` (same bits), and the
    /// curvature of `−S`. `spatialGradient` is the sampler's (3 per warped voxel).
    func evaluateWithCurvature(warped: [Float], spatialGradient: [Float]) -> (value: Double, gradient: [Float], curvature: WarpedCurvature)
}

extension PreparedGlobalNCC: CurvatureSimilarity {
    /// With the standardised images `x̃ = (x − x̄)/√V_x`, `ã = (a − ā)/√V_a`,
    /// `−S = ½ Σ w (x̃ − ã)² − 1` exactly, so the Gauss-Newton curvature is `Σ w ∂x̃ ∂x̃ᵀ` with
    /// `∂x̃_n = (J_n − J̄ − x̃_n·u)/√V_x`, `J̄ = Σ w J / W`, `u = Σ w x̃ J`:
    ///
    ///     H = (1/V_x) · [Σ w J Jᵀ − (1/W)(Σ w J)(Σ w J)ᵀ − (1/V_x)(Σ w (x − x̄) J)(Σ w (x − x̄) J)ᵀ]
    ///
    /// (the mean and the normalisation projected out; equal to the true Hessian of `−S` where the
    /// images match, zero residual). `x̄` and `V_x` are the evaluation's own.
    public func evaluateWithCurvature(warped x: [Float], spatialGradient: [Float]) -> (value: Double, gradient: [Float], curvature: WarpedCurvature) {
        let r = evaluateWithMoments(warped: x)
        guard let (mean, vx) = r.moments else { return (r.value, r.gradient, WarpedCurvature()) }
        let count = x.count
        let w = weights
        let d = parallelFill(count: count, threads: threads) { range, out in
            for n in range { out[n] = Float(Double(w?[n] ?? 1) / vx) }
        }
        let ones = w ?? [Float](repeating: 1, count: count)
        let centred = parallelFill(count: count, threads: threads) { range, out in
            for n in range { out[n] = Float(Double(w?[n] ?? 1) * (Double(x[n]) - mean)) }
        }
        return (r.value, r.gradient, WarpedCurvature(weights: d, lowRank: [(ones, 1 / (totalWeight * vx)), (centred, 1 / (vx * vx))]))
    }
}

extension PreparedLocalNCC: CurvatureSimilarity {
    /// Near alignment a window's `1 − cc` is `Σ_win (Ĩ − J̃)²` to first order, with `Ĩ`, `J̃`
    /// standardised in the window (`Ĩ = (I − ū)/√varI`), so its Gauss-Newton curvature is
    /// `2·Σ_win ∂Ĩ ∂Ĩᵀ` with `∂Ĩ_y = (J_y − J̄ − Ĩ_y·u)/√varI` (the window mean and the window
    /// normalisation projected out, `u = Σ_win Ĩ J`). Each window is taken to move rigidly with
    /// its centre `x` (`J_y ≈ g_y ⊗ h_x`: the local-translation model of block matching), and
    /// weighted by `ω·cc` (a window that correlates weakly is flat and contributes little):
    ///
    ///     H ≈ Σ_x c_x · M_x ⊗ h_x h_xᵀ,   c = 2·ω·cc/varI,
    ///     M_x = B[g gᵀ] − B[g] B[g]ᵀ/n − (B[I·g] − ū·B[g])(B[I·g] − ū·B[g])ᵀ/varI
    ///
    /// (`B` the window sum about `x`). `M_x` is the window's covariance of `g` less its part
    /// explained by `I`: positive semi-definite by Cauchy-Schwarz, so `H` is too. Twelve box
    /// sums beyond the evaluation's seven.
    public func evaluateWithCurvature(warped: [Float], spatialGradient g: [Float]) -> (value: Double, gradient: [Float], curvature: WarpedCurvature) {
        let count = atlas.count
        precondition(g.count == 3 * count, "the spatial gradient needs 3 values per voxel")
        let threads = measure.threads
        let r = evaluate(warped: warped, curvatureSources: true)
        let src = r.sources!
        let i = src.centred
        // Window sums of the fields g_x, g_y, g_z, I·g (3) and the 6 products g_r g_s, each
        // field made and summed in turn; the six products' sums are folded into the tensor one
        // at a time, so a 2 mm level (1.1 M voxels) holds 6 + 6 + 2 arrays, not 12 + 12 + 6.
        let pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
        func boxedField(_ f: Int) -> [Float] {
            window.sums(parallelFill(count: count, threads: threads) { range, out in
                switch f {
                case 0..<3: for n in range { out[n] = g[3 * n + f] }
                case 3..<6: for n in range { out[n] = i[n] * g[3 * n + f - 3] }
                default:
                    let (a, b) = pairs[f - 6]
                    for n in range { out[n] = g[3 * n + a] * g[3 * n + b] }
                }
            }, threads: threads)
        }
        let first = (0..<6).map(boxedField)
        let counts = window.counts, sI = src.windowSum, c = src.weight, cv = src.weightOverVariance
        var tensor = [Float](repeating: 0, count: 6 * count)
        for (e, (a, b)) in pairs.enumerated() {
            let product = boxedField(6 + e)
            tensor.withUnsafeMutableBufferPointer { buf in
                let out = UncheckedSendable(buf.baseAddress!)
                let chunks = chunkCount(count)
                parallelChunks(chunks, threads: threads) { chunk in
                    let t = out.value
                    for n in chunkRange(chunk, of: chunks, count: count) where c[n] != 0 {
                        let invN = 1 / Double(counts[n]), u = Double(sI[n]) * invN
                        let bg = SIMD3(Double(first[0][n]), Double(first[1][n]), Double(first[2][n]))
                        let v = SIMD3(Double(first[3][n]), Double(first[4][n]), Double(first[5][n])) - u * bg
                        // c·(B[g gᵀ] − B[g]B[g]ᵀ/n) − (c/varI)·v vᵀ.
                        let m = Double(c[n]) * (Double(product[n]) - bg[a] * bg[b] * invN) - Double(cv[n]) * v[a] * v[b]
                        t[6 * n + e] = Float(m)
                    }
                }
            }
        }
        return (r.value, r.gradient, WarpedCurvature(tensor: tensor))
    }
}
