import VolumeCore

/// Normalised gradient fields (Haber & Modersitzki 2006): a measure of where edges lie and how
/// they are oriented, whatever the intensities on either side — so it holds across contrasts
/// (a T2's bright CSF against a T1's dark CSF gives the same edge) and, unlike mutual
/// information, it does not depend on how many voxels of each tissue the mask holds.
///
/// With `I` = warped, `J` = atlas, `g = ∇I`, `h = ∇J` by central differences in voxel units
/// (clamped at the volume border: `g_k(x) = (I(x⁺) − I(x⁻)) / 2`, `x^± = clamp(x ± e_k)`),
///
///     value = Σ_x ω(x) · (g·n)² / (|g|² + ε²),   n = h / √(|h|² + ε²),   ω = m / Σm
///
/// ∈ [0, 1): the squared cosine of the angle between the two gradients where both are strong,
/// damped where either is weaker than `ε` (noise, flat tissue). Sign-insensitive, as squared
/// windowed NCC. `ε` is `epsilonFraction` × the mean |∇J| over the mask (fixed when prepared,
/// so the value is a smooth function of the warped intensities).
///
/// **Gradient.** With `c = g·n`, `q = |g|² + ε²`, `v(x) = ω(x) (2c·n/q − 2c²·g/q²)` (∂ of the
/// term at x with respect to g(x)), the adjoint of the clamped central difference gives
///
///     ∂value/∂I(y) = ½ Σ_k [v_k(y − e_k)·[y_k ≥ 1] + v_k(y)·[y_k = n_k − 1]
///                           − v_k(y + e_k)·[y_k ≤ n_k − 2] − v_k(y)·[y_k = 0]]
///
/// (gathered per voxel, so bit-identical for any `threads`). The measure has no Gauss-Newton
/// form here (it is not a sum of squared residuals), so refinement minimises it with BFGS.
/// What does not hold: edges of one image absent from the other (skull in the scan, none in a
/// skull-stripped atlas) simply do not count where the mask excludes them; inside the mask they
/// lower the value wherever the other image is flat. The sampler reads one voxel around the mask
/// (the differences' neighbours).
public struct NormalisedGradientFields: SimilarityMeasure {
    /// `ε` as a fraction of the atlas's mean gradient magnitude over the mask.
    public var epsilonFraction: Double
    public var threads: Int

    public init(epsilonFraction: Double = 0.3, threads: Int = ThreadPolicy.defaultThreadCount) {
        precondition(epsilonFraction > 0, "NormalisedGradientFields: epsilonFraction must be > 0")
        self.epsilonFraction = epsilonFraction
        self.threads = threads
    }

    public func prepare(atlas: Volume, mask: [Float]?) -> PreparedNGF {
        PreparedNGF(atlas: atlas.voxels, dims: atlas.dims, mask: mask, epsilonFraction: epsilonFraction, threads: threads)
    }
}

/// ``NormalisedGradientFields`` with the atlas's normalised gradient, `ε` and the weights precomputed.
public struct PreparedNGF: PreparedSimilarity {
    public let dims: SIMD3<Int>
    public let threads: Int
    /// ε² (intensity² per voxel²).
    public let epsilonSquared: Double
    /// The atlas's normalised gradient `n`, component k at `[k * count + n]`.
    let normal: [Float]
    /// `m / Σm` (nil: every voxel, 1/N each).
    let weights: [Float]?
    let uniformWeight: Double

    public init(atlas: [Float], dims: SIMD3<Int>, mask: [Float]?, epsilonFraction: Double, threads: Int) {
        let count = dims.x * dims.y * dims.z
        precondition(atlas.count == count, "atlas has \(atlas.count) voxels, shape \(dims) needs \(count)")
        precondition(mask == nil || mask!.count == count, "mask has \(mask!.count) values, atlas \(count)")
        self.dims = dims
        self.threads = threads
        let h = PreparedNGF.centralDifferences(atlas, dims: dims, threads: threads)
        // Mean |∇J| over the mask's weight.
        let sums = deterministicSum(count: count, threads: threads) { range in
            var s = SIMD4<Double>.zero
            for n in range {
                let w = Double(mask?[n] ?? 1)
                precondition(w >= 0, "mask weights must be ≥ 0")
                let g = SIMD3(Double(h[n]), Double(h[count + n]), Double(h[2 * count + n]))
                s.x += w * (g * g).sum().squareRoot()
                s.y += w
            }
            return s
        }
        let meanMagnitude = sums.y > 0 ? sums.x / sums.y : 0
        let eps = max(1e-6, epsilonFraction * meanMagnitude)
        epsilonSquared = eps * eps
        let e2 = epsilonSquared
        var n = [Float](repeating: 0, count: 3 * count)
        n.withUnsafeMutableBufferPointer { buf in
            let out = UncheckedSendable(buf.baseAddress!)
            parallelChunks(chunkCount(count), threads: threads) { c in
                for v in chunkRange(c, of: chunkCount(count), count: count) {
                    let g = SIMD3(Double(h[v]), Double(h[count + v]), Double(h[2 * count + v]))
                    let s = 1 / ((g * g).sum() + e2).squareRoot()
                    out.value[v] = Float(g.x * s); out.value[count + v] = Float(g.y * s); out.value[2 * count + v] = Float(g.z * s)
                }
            }
        }
        normal = n
        weights = mask.map { normalisedWeights($0, threads: threads) }
        uniformWeight = 1 / Double(count)
    }

    /// The clamped central differences of `v` (component k at `[k * count + n]`).
    static func centralDifferences(_ v: [Float], dims: SIMD3<Int>, threads: Int) -> [Float] {
        let count = v.count, nx = dims.x, ny = dims.y, nz = dims.z, plane = nx * ny
        var out = [Float](repeating: 0, count: 3 * count)
        out.withUnsafeMutableBufferPointer { buf in
            let o = UncheckedSendable(buf.baseAddress!)
            parallelChunks(nz, threads: threads) { z in
                for y in 0..<ny {
                    for x in 0..<nx {
                        let n = z * plane + y * nx + x
                        let xp = x < nx - 1 ? n + 1 : n, xm = x > 0 ? n - 1 : n
                        let yp = y < ny - 1 ? n + nx : n, ym = y > 0 ? n - nx : n
                        let zp = z < nz - 1 ? n + plane : n, zm = z > 0 ? n - plane : n
                        o.value[n] = 0.5 * (v[xp] - v[xm])
                        o.value[count + n] = 0.5 * (v[yp] - v[ym])
                        o.value[2 * count + n] = 0.5 * (v[zp] - v[zm])
                    }
                }
            }
        }
        return out
    }

    public func evaluate(warped: [Float]) -> (value: Double, gradient: [Float]) {
        let count = dims.x * dims.y * dims.z
        precondition(warped.count == count, "warped has \(warped.count) values, atlas \(count)")
        let g = PreparedNGF.centralDifferences(warped, dims: dims, threads: threads)
        let e2 = epsilonSquared
        // Per voxel: the weighted term and v = ∂(term)/∂g.
        var v = [Float](repeating: 0, count: 3 * count)
        let total = v.withUnsafeMutableBufferPointer { buf -> Double in
            let out = UncheckedSendable(buf.baseAddress!)
            return deterministicSum(count: count, threads: threads) { range in
                var s = 0.0
                for n in range {
                    let w = weights.map { Double($0[n]) } ?? uniformWeight
                    guard w > 0 else { continue }
                    let gn = SIMD3(Double(g[n]), Double(g[count + n]), Double(g[2 * count + n]))
                    let nn = SIMD3(Double(normal[n]), Double(normal[count + n]), Double(normal[2 * count + n]))
                    let c = (gn * nn).sum(), q = (gn * gn).sum() + e2
                    s += w * c * c / q
                    let d = w * (2 * c / q * nn - 2 * c * c / (q * q) * gn)
                    out.value[n] = Float(d.x); out.value[count + n] = Float(d.y); out.value[2 * count + n] = Float(d.z)
                }
                return SIMD4(s, 0, 0, 0)
            }.x
        }
        // The adjoint of the clamped central differences, gathered per voxel.
        let v0 = v
        let nx = dims.x, ny = dims.y, nz = dims.z, plane = nx * ny
        let gradient = [Float](unsafeUninitializedCapacity: count) { buf, initialised in
            let o = UncheckedSendable(buf.baseAddress!)
            parallelChunks(nz, threads: threads) { z in
                for y in 0..<ny {
                    for x in 0..<nx {
                        let n = z * plane + y * nx + x
                        var d: Float = 0
                        if x >= 1 { d += v0[n - 1] }
                        if x == nx - 1 { d += v0[n] }
                        if x <= nx - 2 { d -= v0[n + 1] }
                        if x == 0 { d -= v0[n] }
                        let cy = count + n
                        if y >= 1 { d += v0[cy - nx] }
                        if y == ny - 1 { d += v0[cy] }
                        if y <= ny - 2 { d -= v0[cy + nx] }
                        if y == 0 { d -= v0[cy] }
                        let cz = 2 * count + n
                        if z >= 1 { d += v0[cz - plane] }
                        if z == nz - 1 { d += v0[cz] }
                        if z <= nz - 2 { d -= v0[cz + plane] }
                        if z == 0 { d -= v0[cz] }
                        o.value[n] = 0.5 * d
                    }
                }
            }
            initialised = count
        }
        return (total, gradient)
    }
}
