import Foundation
import VolumeCore

/// The optimiser's 12 numbers and how they become a world transform.
///
/// Refinement searches for an update `ΔT` that acts in **atlas** world space about a centre
/// `c` (the atlas foreground's centre of mass) and is composed after the starting transform:
///
///     T(θ) = T₀ · ΔT(θ),     ΔT(θ)·x = c + L(θ)·(x − c) + ρ·τ
///     L(θ) = R(ω) · diag(exp σ) · S(η)
///
/// - `ω` (θ[0..<3]): rotation vector in radians (axis × angle, Rodrigues), so a unit of ω
///   moves a point at distance ρ from `c` by about ρ mm;
/// - `τ` (θ[3..<6]): translation in units of ρ (the normalising radius, mm);
/// - `σ` (θ[6..<9]): log scales along x, y, z;
/// - `η` (θ[9..<12]): shears (xy, xz, yz) of the unit upper-triangular `S` (as in ``Decomposition``).
///
/// θ = 0 gives `T₀`. All components are dimensionless and of similar sensitivity, so one step
/// size serves them all. A ``TransformModel`` freezes some of them: rigid uses ω, τ;
/// similarity adds one isotropic log scale (σx = σy = σz); affine uses all 12.
public struct AffineParameters: Sendable {
    public var start: Affine
    public var centre: SIMD3<Double>
    /// Normalising radius ρ in mm.
    public var radiusMM: Double
    public var model: TransformModel

    public init(start: Affine, centre: SIMD3<Double>, radiusMM: Double, model: TransformModel) {
        precondition(radiusMM > 0)
        self.start = start
        self.centre = centre
        self.radiusMM = radiusMM
        self.model = model
    }

    /// Number of free parameters of the model (6, 7 or 12).
    public var freeCount: Int {
        switch model {
        case .rigid: return 6
        case .similarity: return 7
        case .affine: return 12
        }
    }

    /// Expands the free parameters into the full 12-vector (frozen entries 0, tied scales copied).
    public func full(_ free: [Double]) -> [Double] {
        precondition(free.count == freeCount)
        var t = [Double](repeating: 0, count: 12)
        for n in 0..<6 { t[n] = free[n] }
        switch model {
        case .rigid: break
        case .similarity: t[6] = free[6]; t[7] = free[6]; t[8] = free[6]
        case .affine: for n in 6..<12 { t[n] = free[n] }
        }
        return t
    }

    /// Maps a gradient with respect to the full 12-vector to one for the free parameters.
    public func reduce(_ g: [Double]) -> [Double] {
        switch model {
        case .rigid: return Array(g[0..<6])
        case .similarity: return Array(g[0..<6]) + [g[6] + g[7] + g[8]]
        case .affine: return g
        }
    }

    /// `ΔT(θ)` for the full 12-vector θ.
    public static func update(_ theta: [Double], centre c: SIMD3<Double>, radiusMM rho: Double) -> Affine {
        let r = rotation(SIMD3(theta[0], theta[1], theta[2]))
        let z = Matrix3.diagonal(SIMD3(exp(theta[6]), exp(theta[7]), exp(theta[8])))
        let s = Matrix3(rows: SIMD3(1, theta[9], theta[10]), SIMD3(0, 1, theta[11]), SIMD3(0, 0, 1))
        let l = r * z * s
        let t = c - l * c + rho * SIMD3(theta[3], theta[4], theta[5])
        return Affine(linear: l, translation: t)
    }

    /// `T(θ) = T₀ · ΔT(θ)` for the free parameters.
    public func transform(_ free: [Double]) -> Affine {
        start * AffineParameters.update(full(free), centre: centre, radiusMM: radiusMM)
    }

    /// Chain rule from ∂L/∂T (the 12 entries of T's top 3 rows in ``Affine/rowMajor3x4`` order)
    /// to ∂L/∂(free parameters). ∂T/∂θ is evaluated by central differences of this
    /// closed-form map of 12 numbers (step 1e-6, error ~1e-10), not of any image.
    public func chain(_ dLdT: [Double], at free: [Double]) -> [Double] {
        precondition(dLdT.count == 12)
        var g = [Double](repeating: 0, count: 12)
        for (n, d) in fullJacobian(at: free).enumerated() { g[n] = zip(d, dLdT).reduce(0) { $0 + $1.0 * $1.1 } }
        return reduce(g)
    }

    /// `∂T/∂θ` at `free`: per free parameter, the derivative of T's 12 entries (``Affine/rowMajor3x4``),
    /// by the same central differences as ``chain(_:at:)`` (similarity's tied scales summed).
    /// `chain(g) = Mᵀg` up to rounding; a curvature over T becomes `Mᵀ H M`.
    public func jacobian(at free: [Double]) -> [[Double]] {
        let columns = fullJacobian(at: free)
        guard model == .similarity else { return columns }
        return Array(columns[0..<6]) + [(0..<12).map { columns[6][$0] + columns[7][$0] + columns[8][$0] }]
    }

    /// The columns of `∂T/∂θ` for the entries of the full 12-vector the model uses (6, 9 or 12;
    /// the frozen ones contribute nothing and are skipped).
    private func fullJacobian(at free: [Double]) -> [[Double]] {
        let theta = full(free)
        let h = 1e-6
        var tp = theta
        return (0..<(model == .rigid ? 6 : model == .similarity ? 9 : 12)).map { n in
            tp[n] = theta[n] + h
            let ap = start * AffineParameters.update(tp, centre: centre, radiusMM: radiusMM)
            tp[n] = theta[n] - h
            let am = start * AffineParameters.update(tp, centre: centre, radiusMM: radiusMM)
            tp[n] = theta[n]
            return zip(ap.rowMajor3x4, am.rowMajor3x4).map { ($0 - $1) / (2 * h) }
        }
    }

    /// An upper bound of the largest distance (mm) between where `T(a)` and `T(b)` put a point
    /// of the ball of radius ρ about the centre: with `E`, `e` the difference of the two maps,
    /// `|E·c + e| + ρ·‖E‖_F` (the Frobenius norm bounds the spectral norm). Refinement's
    /// convergence measure: a step that moves no point of the brain by more than this.
    public func displacementMM(from a: [Double], to b: [Double]) -> Double {
        let ta = transform(a), tb = transform(b)
        let e = ta.linear - tb.linear, t = ta.translation - tb.translation
        let frobenius = (dot(e.r0, e.r0) + dot(e.r1, e.r1) + dot(e.r2, e.r2)).squareRoot()
        return length(e * centre + t) + radiusMM * frobenius
    }

    /// Rodrigues' formula: rotation by |ω| radians about ω/|ω|.
    public static func rotation(_ w: SIMD3<Double>) -> Matrix3 {
        let angle = length(w)
        if angle < 1e-12 {
            // First order: I + [ω]×
            return Matrix3(rows: SIMD3(1, -w.z, w.y), SIMD3(w.z, 1, -w.x), SIMD3(-w.y, w.x, 1))
        }
        let k = w / angle
        let kx = Matrix3(rows: SIMD3(0, -k.z, k.y), SIMD3(k.z, 0, -k.x), SIMD3(-k.y, k.x, 0))
        let kx2 = kx * kx
        let s = sin(angle), c = 1 - cos(angle)
        return Matrix3.identity + Matrix3(rows: kx.r0 * s + kx2.r0 * c, kx.r1 * s + kx2.r1 * c, kx.r2 * s + kx2.r2 * c)
    }
}
