import Foundation
import VolumeCore

/// Maps the network's 12 raw outputs `o` to a bounded affine in the **normalised frame** of the
/// input grid (origin at the grid centre, half-extent 1 along each axis; DESIGN.md), and back-
/// propagates gradients through that map.
///
///     angles      a = maxRotation · tanh(o[0..<3])         (radians about x, y, z)
///     translation t = maxTranslation · tanh(o[3..<6])      (normalised units)
///     log-scales  σ = log(maxScale) · tanh(o[6..<9])       (scale = exp σ ∈ [1/maxScale, maxScale])
///     shears      η = maxShear · tanh(o[9..<12])           (xy, xz, yz)
///
///     p' = R · Z · S · p + t,   R = Rz(a.z) · Ry(a.y) · Rx(a.x),  Z = diag(exp σ),
///     S = [[1, ηxy, ηxz], [0, 1, ηyz], [0, 0, 1]]
///
/// the order and conventions of ``Decomposition`` (Euler angles, not a rotation vector).
/// `o = 0` gives exactly the identity. Each component is bounded, so no output can produce a
/// flip or a singular matrix. What the map does not fix: which way the affine acts — like
/// `atlasToScan`, it is meant to map atlas (output grid) points to scan points; and how voxels
/// map to the normalised frame, which the grid generator defines.
///
/// The 12 **entries** are the top three rows of the 4×4 matrix, row by row:
/// `[L00, L01, L02, t0, L10, L11, L12, t1, L20, L21, L22, t2]` (``Affine/init(rowMajor3x4:)``).
public struct AffineParameterMap: Codable, Equatable, Sendable {
    /// Largest rotation about each axis, degrees.
    public var maxRotationDegrees: Double
    /// Largest translation along each axis, normalised units (1 = half the grid).
    public var maxTranslation: Double
    /// Largest scale factor (> 1); scales lie in [1/maxScale, maxScale].
    public var maxScale: Double
    /// Largest absolute shear factor.
    public var maxShear: Double

    public init(maxRotationDegrees: Double = 45, maxTranslation: Double = 0.3, maxScale: Double = 1.25, maxShear: Double = 0.15) {
        precondition(maxRotationDegrees >= 0 && maxTranslation >= 0 && maxScale >= 1 && maxShear >= 0,
                     "AffineParameterMap: ranges must be non-negative and maxScale ≥ 1")
        self.maxRotationDegrees = maxRotationDegrees
        self.maxTranslation = maxTranslation
        self.maxScale = maxScale
        self.maxShear = maxShear
    }

    /// The components (rotation in degrees, translation in normalised units, scale, shear).
    public func decomposition(_ o: [Double]) -> Decomposition {
        precondition(o.count == 12, "AffineParameterMap: 12 outputs expected")
        let th = o.map { tanh($0) }
        let rad = maxRotationDegrees * .pi / 180, ls = log(maxScale)
        return Decomposition(translation: SIMD3(th[3], th[4], th[5]) * maxTranslation,
                             rotationDegrees: SIMD3(th[0], th[1], th[2]) * (rad * 180 / .pi),
                             scale: SIMD3(exp(ls * th[6]), exp(ls * th[7]), exp(ls * th[8])),
                             shear: SIMD3(th[9], th[10], th[11]) * maxShear)
    }

    /// The affine in the normalised frame for raw outputs `o` (12 values).
    public func affine(_ o: [Double]) -> Affine { decomposition(o).affine }

    /// `∂entry/∂o` as a 12×12 row-major matrix: `J[e · 12 + j] = ∂entries[e] / ∂o[j]` (analytic).
    public func jacobian(_ o: [Double]) -> [Double] {
        precondition(o.count == 12, "AffineParameterMap: 12 outputs expected")
        let th = o.map { tanh($0) }
        let dth = th.map { 1 - $0 * $0 }
        let rad = maxRotationDegrees * .pi / 180, ls = log(maxScale)
        let a = SIMD3(th[0], th[1], th[2]) * rad
        let scale = SIMD3(exp(ls * th[6]), exp(ls * th[7]), exp(ls * th[8]))
        let sh = SIMD3(th[9], th[10], th[11]) * maxShear
        let (sx, cx) = (sin(a.x), cos(a.x)), (sy, cy) = (sin(a.y), cos(a.y)), (sz, cz) = (sin(a.z), cos(a.z))
        let rx = Matrix3(rows: SIMD3(1, 0, 0), SIMD3(0, cx, -sx), SIMD3(0, sx, cx))
        let ry = Matrix3(rows: SIMD3(cy, 0, sy), SIMD3(0, 1, 0), SIMD3(-sy, 0, cy))
        let rz = Matrix3(rows: SIMD3(cz, -sz, 0), SIMD3(sz, cz, 0), SIMD3(0, 0, 1))
        let drx = Matrix3(rows: SIMD3(0, 0, 0), SIMD3(0, -sx, -cx), SIMD3(0, cx, -sx))
        let dry = Matrix3(rows: SIMD3(-sy, 0, cy), SIMD3(0, 0, 0), SIMD3(-cy, 0, -sy))
        let drz = Matrix3(rows: SIMD3(-sz, -cz, 0), SIMD3(cz, -sz, 0), SIMD3(0, 0, 0))
        let z = Matrix3.diagonal(scale)
        let s = Matrix3(rows: SIMD3(1, sh.x, sh.y), SIMD3(0, 1, sh.z), SIMD3(0, 0, 1))
        let r = rz * ry * rx
        let zs = z * s, rzm = r * z
        // ∂L/∂o[j] for the linear part (translation entries handled apart).
        func scaled(_ m: Matrix3, _ k: Double) -> Matrix3 { Matrix3(rows: m.r0 * k, m.r1 * k, m.r2 * k) }
        let dRx: Matrix3 = rz * ry * drx * zs
        let dRy: Matrix3 = rz * dry * rx * zs
        let dRz: Matrix3 = drz * ry * rx * zs
        var dL: [Matrix3] = [scaled(dRx, dth[0] * rad), scaled(dRy, dth[1] * rad), scaled(dRz, dth[2] * rad)]
        for i in 0..<3 {
            var e = SIMD3<Double>(0, 0, 0); e[i] = scale[i] * ls * dth[6 + i]
            dL.append(r * Matrix3.diagonal(e) * s)
        }
        let unit: [(Int, Int)] = [(0, 1), (0, 2), (1, 2)]
        for (i, (row, col)) in unit.enumerated() {
            var rows = [SIMD3<Double>](repeating: .zero, count: 3)
            rows[row][col] = maxShear * dth[9 + i]
            dL.append(rzm * Matrix3(rows: rows[0], rows[1], rows[2]))
        }
        var j = [Double](repeating: 0, count: 144)
        let linearOutputs = [0, 1, 2, 6, 7, 8, 9, 10, 11]
        for (q, oj) in linearOutputs.enumerated() {
            for row in 0..<3 {
                for col in 0..<3 { j[(row * 4 + col) * 12 + oj] = dL[q].row(row)[col] }
            }
        }
        for i in 0..<3 { j[(i * 4 + 3) * 12 + 3 + i] = maxTranslation * dth[3 + i] }
        return j
    }

    /// `∂L/∂o = Jᵀ · ∂L/∂entries` for a loss gradient over the 12 entries.
    public func outputGradient(_ o: [Double], entryGradient g: [Double]) -> [Double] {
        precondition(g.count == 12, "AffineParameterMap: 12 entry gradients expected")
        let j = jacobian(o)
        return (0..<12).map { col in (0..<12).reduce(0.0) { $0 + j[$1 * 12 + col] * g[$1] } }
    }
}
