import VolumeCore

/// The Gauss-Newton curvature of a loss through the trilinear warp, with respect to the 12
/// entries of the voxel map `p = A·q + b` (the ``AffineGradient`` of second order).
///
/// The warped intensity at target voxel `q = (i, j, k)` depends on the map through the sample
/// point only, so its Jacobian is `J_q = g_q ⊗ h_q`: `∂w_q/∂A_rc = g_r·h_c`, `∂w_q/∂b_r = g_r`,
/// with `g_q` the spatial gradient of the scan interpolant at the sample point (per scan voxel)
/// and `h_q = (i, j, k, 1)`. Given per-voxel weights `D_q ≥ 0` (the loss's curvature in the
/// warped intensity, from the similarity), this accumulates
///
///     H[4r + c, 4s + d] = Σ_q D_q · g_qr · g_qs · h_qc · h_qd        (``Affine/rowMajor3x4`` order)
///
/// which is positive semi-definite (and, more generally, `Σ_q M_q ⊗ h_q h_qᵀ` for a field of
/// symmetric 3 × 3 matrices). Fixed chunks of rows, Double partials per chunk,
/// combined in chunk order: the same bits for any `threads`.
public struct AffineCurvature: Equatable, Sendable {
    /// 12 × 12, row-major, in the order of ``AffineGradient/rowMajor3x4``.
    public var matrix: [Double]

    public init(matrix: [Double]) {
        precondition(matrix.count == 144, "an affine curvature has 12 × 12 entries")
        self.matrix = matrix
    }

    /// `Σ_q D_q (g_q ⊗ h_q)(g_q ⊗ h_q)ᵀ` over a target of `dims`; `spatialGradient` holds 3 values
    /// per voxel (as ``WarpedWithGradient/spatialGradient``), `weights` one.
    public static func accumulate(weights: [Float], spatialGradient g: [Float], dims n: SIMD3<Int>,
                                  threads: Int = ThreadPolicy.defaultThreadCount) -> AffineCurvature {
        let count = n.x * n.y * n.z
        precondition(weights.count == count && g.count == 3 * count,
                     "curvature needs one weight and 3 gradient values per target voxel")
        return accumulate(dims: n, threads: threads) { q in
            let d = weights[q]
            if d == 0 { return nil }
            let gx = Double(g[3 * q]), gy = Double(g[3 * q + 1]), gz = Double(g[3 * q + 2])
            return SIMD8<Double>(gx * gx, gx * gy, gx * gz, gy * gy, gy * gz, gz * gz, 0, 0) * Double(d)
        }
    }

    /// `Σ_q M_q ⊗ (h_q h_qᵀ)` for a field of symmetric 3 × 3 matrices `M` (6 values per voxel:
    /// xx, xy, xz, yy, yz, zz): `H[4r + c, 4s + d] = Σ_q M_q,rs · h_qc · h_qd`. The weighted
    /// outer products above are the case `M = D·g gᵀ`.
    public static func accumulate(tensor m: [Float], dims n: SIMD3<Int>,
                                  threads: Int = ThreadPolicy.defaultThreadCount) -> AffineCurvature {
        precondition(m.count == 6 * n.x * n.y * n.z, "a tensor field needs 6 values per target voxel")
        return accumulate(dims: n, threads: threads) { q in
            let o = 6 * q
            let v = SIMD8<Float>(m[o], m[o + 1], m[o + 2], m[o + 3], m[o + 4], m[o + 5], 0, 0)
            return v == .zero ? nil : SIMD8<Double>(v)
        }
    }

    /// The shared sum: per voxel `q` the 6 entries of `M_q` (nil = zero). Along a row only `i`
    /// varies, so a row needs `Σ M`, `Σ M·i`, `Σ M·i²` (18 sums per voxel) and its
    /// contribution to every `h_c h_d` follows in closed form.
    private static func accumulate(dims n: SIMD3<Int>, threads: Int, _ entry: (Int) -> SIMD8<Double>?) -> AffineCurvature {
        let rows = n.y * n.z
        let chunks = _rowChunkCount(rows: rows, rowLength: n.x)
        // Per chunk: the 10 unique entries of Σ h hᵀ ⊗ (6 unique entries of M) = 60 sums.
        var partials = [Double](repeating: 0, count: 60 * chunks)
        partials.withUnsafeMutableBufferPointer { pb in
            let out = UncheckedSendable(pb.baseAddress!)
            parallelChunks(chunks, threads: threads) { c in
                let p = out.value
                var acc = [Double](repeating: 0, count: 60)
                for r in chunkRange(c, of: chunks, count: rows) {
                    let j = Double(r % n.y), k = Double(r / n.y)
                    let o = r * n.x
                    var m0 = SIMD8<Double>.zero, m1 = SIMD8<Double>.zero, m2 = SIMD8<Double>.zero
                    for i in 0..<n.x {
                        guard let e = entry(o + i) else { continue }
                        let prod = e
                        let fi = Double(i)
                        m0 += prod
                        m1 += prod * fi
                        m2 += prod * (fi * fi)
                    }
                    // Σ_i h_c h_d for h = (i, j, k, 1), as multiples of m0, m1, m2 (10 unique (c, d)).
                    let blocks: [SIMD8<Double>] = [m2, m1 * j, m1 * k, m1, m0 * (j * j), m0 * (j * k), m0 * j,
                                                   m0 * (k * k), m0 * k, m0]
                    for (b, v) in blocks.enumerated() {
                        for e in 0..<6 { acc[6 * b + e] += v[e] }
                    }
                }
                for e in 0..<60 { p[60 * c + e] = acc[e] }
            }
        }
        var total = [Double](repeating: 0, count: 60)
        for c in 0..<chunks { for e in 0..<60 { total[e] += partials[60 * c + e] } }
        // Unpack: (c, d) pair index and (r, s) product index.
        let pairs = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3)]
        let products = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
        var h = [Double](repeating: 0, count: 144)
        for (b, (c, d)) in pairs.enumerated() {
            for (e, (r, s)) in products.enumerated() {
                let v = total[6 * b + e]
                // M_rs and h_c h_d are each symmetric: four entries share the value.
                h[(4 * r + c) * 12 + (4 * s + d)] = v
                h[(4 * s + c) * 12 + (4 * r + d)] = v
                h[(4 * r + d) * 12 + (4 * s + c)] = v
                h[(4 * s + d) * 12 + (4 * r + c)] = v
            }
        }
        return AffineCurvature(matrix: h)
    }

    /// Chain rule to the world-space `atlasToScan` (as ``AffineGradient/atlasToScan(target:scan:)``):
    /// that gradient map is linear, `g_T = P·g_map`, so the curvature becomes `P·H·Pᵀ`.
    public func atlasToScan(target: Grid, scan: Grid) -> AffineCurvature {
        let p = AffineGradient.atlasToScanMatrix(target: target, scan: scan)
        var ph = [Double](repeating: 0, count: 144)
        for a in 0..<12 { for b in 0..<12 {
            var s = 0.0
            for c in 0..<12 { s += p[a * 12 + c] * matrix[c * 12 + b] }
            ph[a * 12 + b] = s
        } }
        var out = [Double](repeating: 0, count: 144)
        for a in 0..<12 { for b in 0..<12 {
            var s = 0.0
            for c in 0..<12 { s += ph[a * 12 + c] * p[b * 12 + c] }
            out[a * 12 + b] = s
        } }
        return AffineCurvature(matrix: out)
    }
}

extension AffineGradient {
    /// The gradient with entries `v` in ``rowMajor3x4`` order.
    public init(rowMajor3x4 v: [Double]) {
        precondition(v.count == 12)
        self.init(linear: Matrix3(rows: SIMD3(v[0], v[1], v[2]), SIMD3(v[4], v[5], v[6]), SIMD3(v[8], v[9], v[10])),
                  translation: SIMD3(v[3], v[7], v[11]))
    }

    /// The 12 × 12 matrix `P` (row-major) of the linear map ``atlasToScan(target:scan:)``:
    /// `atlasToScan(g).rowMajor3x4 = P · g.rowMajor3x4`.
    public static func atlasToScanMatrix(target: Grid, scan: Grid) -> [Double] {
        var p = [Double](repeating: 0, count: 144)
        for c in 0..<12 {
            var e = [Double](repeating: 0, count: 12)
            e[c] = 1
            let column = AffineGradient(rowMajor3x4: e).atlasToScan(target: target, scan: scan).rowMajor3x4
            for r in 0..<12 { p[r * 12 + c] = column[r] }
        }
        return p
    }
}
