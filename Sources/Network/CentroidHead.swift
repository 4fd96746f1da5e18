import Foundation

/// The centroid head of a ``LocalizationNetwork`` (architecture `centroids > 0`): the affine in
/// closed form from matched feature barycentres, as SynthMorph's affine model does, instead of
/// regressing 12 numbers.
///
/// The same convolutional tower sees the scan and the atlas, each alone, and ends in `K`
/// feature maps on an `s³` grid. Each map becomes a distribution over its grid by a spatial
/// softmax, `p_k(v) = exp f_k(v) / Σ_v' exp f_k(v')`, whose barycentre `c_k = Σ_v p_k(v)·u(v)`
/// is a point in the input's normalised frame (``NetworkFrame``; feature voxel `o` sits at
/// input voxel `o · 2^B` after `B` stride-2 blocks, so `u` is exact). With atlas barycentres
/// `x_k` and scan barycentres `y_k`, the affine `A` (atlas → scan point, like the dense head's)
/// is the least-squares fit
///
///     A = argmin Σ_k ‖A·x_k − y_k‖² + λ ‖L − I‖²_F,   A = [L | t],
///
/// solved by the normal equations `(XᵀX + λE)·M = XᵀY + λE·[I; 0]`, `X` rows `[x_kᵀ 1]`, `Y`
/// rows `y_kᵀ`, `M = Aᵀ` (4×3), `E = diag(1, 1, 1, 0)`. The ridge keeps the system definite
/// and pulls an ill-posed fit (barycentres that barely spread) towards the identity. It scales
/// with the atlas barycentres' spread, `λ = ρ·Σ_k ‖x_k − x̄‖²/3 + λ₀`, so that it shrinks the
/// linear part by the same small fraction (~ρ) however spread the maps are: a fixed λ made a
/// trained network under-correct by a third per application while its maps were still broad
/// (training, 2,000 steps: validation TRE 25.8 / 16.3 / 10.4 / 7.2 mm after 1–4 applications).
/// `λ₀` holds barycentres that all coincide at the identity. Outputs: the 12 entries of `A`'s
/// top rows, row by row (``Affine/init(rowMajor3x4:)``).
///
/// Everything here is Float64 and single-threaded: `K·s³` exponentials and a 4×4 solve per item.
/// The backward pass (``backward(features:atlasIndex:outputGradient:)``) is the exact adjoint,
/// checked against central differences in `CentroidHeadTests`.
public struct CentroidHead: Sendable, Equatable {
    /// Feature maps `K` (≥ 4: an affine needs four points in general position).
    public let channels: Int
    /// Edge length `s` of the feature grid.
    public let featureSize: Int
    /// Input voxels per feature voxel along each axis, `2^B`.
    public let featureStride: Int
    /// Edge length `g` of the input grid.
    public let gridSize: Int
    /// `ρ` of the ridge (its part proportional to the atlas barycentres' spread).
    public let ridgeFraction: Double
    /// `λ₀` of the ridge.
    public let ridgeFloor: Double

    public init(channels: Int, featureSize: Int, featureStride: Int, gridSize: Int,
                ridgeFraction: Double = 1e-3, ridgeFloor: Double? = nil) {
        precondition(channels >= 4 && featureSize >= 1 && featureStride >= 1 && gridSize >= 2, "CentroidHead: sizes")
        self.channels = channels
        self.featureSize = featureSize
        self.featureStride = featureStride
        self.gridSize = gridSize
        self.ridgeFraction = ridgeFraction
        self.ridgeFloor = ridgeFloor ?? 1e-6 * Double(channels)
    }

    /// `λ` for atlas barycentres `x`.
    func ridge(_ x: [SIMD3<Double>]) -> Double {
        let mean = x.reduce(SIMD3<Double>(0, 0, 0), +) / Double(x.count)
        return ridgeFraction * x.reduce(0) { $0 + (($1 - mean) * ($1 - mean)).sum() } / 3 + ridgeFloor
    }

    /// Normalised coordinate of feature index `o` along one axis.
    @inlinable
    func coordinate(_ o: Int) -> Double {
        (2 * Double(o * featureStride) - Double(gridSize - 1)) / Double(gridSize - 1)
    }

    /// The barycentres of item `n`'s `K` maps and their softmax distributions (`K · s³` values).
    public func barycentres(_ f: Tensor5, item n: Int) -> (points: [SIMD3<Double>], probabilities: [Double]) {
        let s = featureSize, cells = s * s * s
        precondition(f.shape.channels == channels && f.shape.depth == s && f.shape.height == s && f.shape.width == s,
                     "CentroidHead: feature shape \(f.shape)")
        let u = (0..<s).map(coordinate)
        var points: [SIMD3<Double>] = []
        var probabilities = [Double](repeating: 0, count: channels * cells)
        for k in 0..<channels {
            let base = f.shape.index(n, k, 0, 0, 0)
            var peak = -Double.infinity
            for v in 0..<cells { peak = max(peak, Double(f.values[base + v])) }
            var total = 0.0
            for v in 0..<cells {
                let e = Foundation.exp(Double(f.values[base + v]) - peak)
                probabilities[k * cells + v] = e
                total += e
            }
            var c = SIMD3<Double>(0, 0, 0)
            var v = 0
            for z in 0..<s {
                for y in 0..<s {
                    for x in 0..<s {
                        let p = probabilities[k * cells + v] / total
                        probabilities[k * cells + v] = p
                        c += p * SIMD3(u[x], u[y], u[z])
                        v += 1
                    }
                }
            }
            points.append(c)
        }
        return (points, probabilities)
    }

    /// The normal equations' matrix `G = XᵀX + λE` (4×4, row-major) and right side `R = XᵀY + λE·[I; 0]` (4×3).
    func normalEquations(atlas x: [SIMD3<Double>], scan y: [SIMD3<Double>]) -> (g: [Double], r: [Double]) {
        var g = [Double](repeating: 0, count: 16), r = [Double](repeating: 0, count: 12)
        for (xk, yk) in zip(x, y) {
            let row = [xk.x, xk.y, xk.z, 1]
            for a in 0..<4 {
                for b in 0..<4 { g[a * 4 + b] += row[a] * row[b] }
                for c in 0..<3 { r[a * 3 + c] += row[a] * yk[c] }
            }
        }
        let lambda = ridge(x)
        for d in 0..<3 { g[d * 4 + d] += lambda; r[d * 3 + d] += lambda }
        return (g, r)
    }

    /// `M = Aᵀ` (4×3, row-major) of the fit, and `G`.
    func fit(atlas x: [SIMD3<Double>], scan y: [SIMD3<Double>]) -> (m: [Double], g: [Double]) {
        let (g, r) = normalEquations(atlas: x, scan: y)
        return (Self.solve(g, r, columns: 3), g)
    }

    /// The 12 entries of `A` (row-major 3×4) for matched barycentres.
    public func affineEntries(atlas x: [SIMD3<Double>], scan y: [SIMD3<Double>]) -> [Double] {
        let m = fit(atlas: x, scan: y).m
        return (0..<12).map { e in m[(e % 4) * 3 + e / 4] }
    }

    /// Raw outputs (N, 12, 1, 1, 1) for features of the scans (items `0..<N`) and of the atlases
    /// (item `atlasIndex(n)` for scan `n`).
    public func forward(features f: Tensor5, items: Int, atlasIndex: (Int) -> Int) -> Tensor5 {
        var atlasCache: [Int: [SIMD3<Double>]] = [:]
        return outputs(scanFeatures: f, items: items) { n in
            let a = atlasIndex(n)
            if let x = atlasCache[a] { return x }
            let x = barycentres(f, item: a).points
            atlasCache[a] = x
            return x
        }
    }

    /// Raw outputs (N, 12, 1, 1, 1) for the scans' features (items `0..<N` of `f`) and the atlas
    /// barycentres `atlas(n)` matched to scan `n`.
    public func outputs(scanFeatures f: Tensor5, items: Int, atlas: (Int) -> [SIMD3<Double>]) -> Tensor5 {
        var out = Tensor5(zeros: .vector(batch: items, channels: 12))
        for n in 0..<items {
            let entries = affineEntries(atlas: atlas(n), scan: barycentres(f, item: n).points)
            for e in 0..<12 { out.values[n * 12 + e] = Float(entries[e]) }
        }
        return out
    }

    /// `∂L/∂features` for `∂L/∂outputs` (N, 12): each item's gradient reaches its scan's maps and
    /// its atlas's; an atlas shared by several items sums theirs, in item order.
    public func backward(features f: Tensor5, items: Int, atlasIndex: (Int) -> Int, outputGradient dy: Tensor5) -> Tensor5 {
        precondition(dy.shape == .vector(batch: items, channels: 12), "CentroidHead.backward: gradient shape")
        var df = Tensor5(zeros: f.shape)
        var cache: [Int: (points: [SIMD3<Double>], probabilities: [Double])] = [:]
        func bary(_ i: Int) -> (points: [SIMD3<Double>], probabilities: [Double]) {
            if let b = cache[i] { return b }
            let b = barycentres(f, item: i); cache[i] = b; return b
        }
        var dPoints: [Int: [SIMD3<Double>]] = [:]
        var order: [Int] = []
        func add(_ i: Int, _ d: [SIMD3<Double>]) {
            if let e = dPoints[i] { dPoints[i] = zip(e, d).map { $0 + $1 } } else { dPoints[i] = d; order.append(i) }
        }
        for n in 0..<items {
            let a = atlasIndex(n)
            let (dx, dyPoints) = fitGradient(atlas: bary(a).points, scan: bary(n).points,
                                             entryGradient: (0..<12).map { Double(dy.values[n * 12 + $0]) })
            add(n, dyPoints)
            add(a, dx)
        }
        for i in order { barycentreBackward(bary(i), dPoints: dPoints[i]!, item: i, into: &df) }
        return df
    }

    /// `∂L/∂x_k` and `∂L/∂y_k` for `∂L/∂entries` of ``affineEntries(atlas:scan:)``.
    ///
    /// With `Z = G⁻¹·∂L/∂M` (4×3): `∂L/∂Y = X·Z`, `∂L/∂X = Y·Zᵀ − X·(M·Zᵀ + Z·Mᵀ)` (its first three
    /// columns: the last column of `X` is the constant 1), plus the ridge's share:
    /// `∂L/∂λ = Σ_{a,c<3} Z_ac·(I − M)_ac` times `∂λ/∂x_k = 2ρ·(x_k − x̄)/3`.
    public func fitGradient(atlas x: [SIMD3<Double>], scan y: [SIMD3<Double>], entryGradient ge: [Double])
        -> (atlas: [SIMD3<Double>], scan: [SIMD3<Double>]) {
        precondition(ge.count == 12, "CentroidHead: 12 entry gradients expected")
        let (m, g) = fit(atlas: x, scan: y)
        var gm = [Double](repeating: 0, count: 12)          // ∂L/∂M, 4×3
        for e in 0..<12 { gm[(e % 4) * 3 + e / 4] = ge[e] }
        let z = Self.solve(g, gm, columns: 3)
        // S = M·Zᵀ + Z·Mᵀ (4×4, symmetric).
        var sym = [Double](repeating: 0, count: 16)
        for a in 0..<4 {
            for b in 0..<4 {
                var v = 0.0
                for c in 0..<3 { v += m[a * 3 + c] * z[b * 3 + c] + z[a * 3 + c] * m[b * 3 + c] }
                sym[a * 4 + b] = v
            }
        }
        var dLambda = 0.0
        for a in 0..<3 { for c in 0..<3 { dLambda += z[a * 3 + c] * ((a == c ? 1 : 0) - m[a * 3 + c]) } }
        let mean = x.reduce(SIMD3<Double>(0, 0, 0), +) / Double(x.count)
        var dx: [SIMD3<Double>] = [], dyOut: [SIMD3<Double>] = []
        for (xk, yk) in zip(x, y) {
            let row = [xk.x, xk.y, xk.z, 1]
            var gy = SIMD3<Double>(0, 0, 0), gx = SIMD3<Double>(0, 0, 0)
            for c in 0..<3 {
                var v = 0.0
                for a in 0..<4 { v += row[a] * z[a * 3 + c] }
                gy[c] = v
            }
            for a in 0..<3 {
                var v = 0.0
                for c in 0..<3 { v += yk[c] * z[a * 3 + c] }
                for b in 0..<4 { v -= row[b] * sym[b * 4 + a] }
                gx[a] = v
            }
            dx.append(gx + dLambda * 2 * ridgeFraction / 3 * (xk - mean))
            dyOut.append(gy)
        }
        return (dx, dyOut)
    }

    /// Softmax barycentre adjoint: `∂L/∂f_k(v) = p_k(v) · ⟨u(v) − c_k, ∂L/∂c_k⟩`.
    func barycentreBackward(_ b: (points: [SIMD3<Double>], probabilities: [Double]), dPoints: [SIMD3<Double>],
                            item n: Int, into df: inout Tensor5) {
        let s = featureSize, cells = s * s * s
        let u = (0..<s).map(coordinate)
        for k in 0..<channels {
            let base = df.shape.index(n, k, 0, 0, 0)
            let c = b.points[k], g = dPoints[k]
            var v = 0
            for z in 0..<s {
                for y in 0..<s {
                    for x in 0..<s {
                        let d = SIMD3(u[x], u[y], u[z]) - c
                        df.values[base + v] += Float(b.probabilities[k * cells + v] * (d * g).sum())
                        v += 1
                    }
                }
            }
        }
    }

    /// Solves `G·Z = B` for symmetric positive definite 4×4 `G` (row-major) by Cholesky;
    /// `B` is 4×`columns`, row-major.
    static func solve(_ g: [Double], _ b: [Double], columns: Int) -> [Double] {
        var l = [Double](repeating: 0, count: 16)
        for i in 0..<4 {
            for j in 0...i {
                var s = g[i * 4 + j]
                for k in 0..<j { s -= l[i * 4 + k] * l[j * 4 + k] }
                l[i * 4 + j] = i == j ? max(s, 1e-300).squareRoot() : s / l[j * 4 + j]
            }
        }
        var z = b
        for c in 0..<columns {
            for i in 0..<4 {
                var s = z[i * columns + c]
                for k in 0..<i { s -= l[i * 4 + k] * z[k * columns + c] }
                z[i * columns + c] = s / l[i * 4 + i]
            }
            for i in stride(from: 3, through: 0, by: -1) {
                var s = z[i * columns + c]
                for k in (i + 1)..<4 { s -= l[k * 4 + i] * z[k * columns + c] }
                z[i * columns + c] = s / l[i * 4 + i]
            }
        }
        return z
    }
}
