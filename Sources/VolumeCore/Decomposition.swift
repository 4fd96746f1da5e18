import Foundation

/// An affine split into translation, rotation, scale and shear.
///
/// **Order of composition** (applied to a point `p`, right to left):
///
///     p' = R · Z · S · p + t
///
/// - `S` = unit upper-triangular shear `[[1, xy, xz], [0, 1, yz], [0, 0, 1]]`
/// - `Z` = `diag(scale)`; a reflection (determinant < 0) is carried by a negative `scale.x`
/// - `R` = `Rz(rotation.z) · Ry(rotation.y) · Rx(rotation.x)`, a proper rotation,
///   angles in **degrees**, right-handed about the world axes
/// - `t` = `translation` in mm
///
/// The linear part is factored as `R · U` by QR (Gram–Schmidt on the columns), `U` upper
/// triangular with a positive diagonal; `Z = diag(U)`, `S = Z⁻¹ · U`. This is unique for every
/// non-singular matrix, so `Decomposition(affine).affine` equals `affine` to rounding.
/// The Euler angles are unique except at `|rotation.y| = 90°` (gimbal lock), where
/// `rotation.x` is set to 0; the composed matrix is still exact there.
public struct Decomposition: Equatable, Sendable, Codable {
    /// Translation in mm.
    public var translation: SIMD3<Double>
    /// Rotation angles about x, y, z in degrees; `R = Rz · Ry · Rx`.
    public var rotationDegrees: SIMD3<Double>
    /// Scale factors along x, y, z (after shear, before rotation); `x < 0` means a flip.
    public var scale: SIMD3<Double>
    /// Shear factors `(xy, xz, yz)` of the unit upper-triangular shear matrix.
    public var shear: SIMD3<Double>

    public init(translation: SIMD3<Double> = .zero, rotationDegrees: SIMD3<Double> = .zero,
                scale: SIMD3<Double> = .one, shear: SIMD3<Double> = .zero) {
        self.translation = translation
        self.rotationDegrees = rotationDegrees
        self.scale = scale
        self.shear = shear
    }

    /// Decomposes `affine`; nil when its linear part is singular or not finite.
    public init?(_ affine: Affine) {
        let l = affine.linear
        guard affine.isFinite, l.inverse != nil else { return nil }
        let c0 = l.column(0), c1 = l.column(1), c2 = l.column(2)
        // Modified Gram–Schmidt: L = Q · U.
        let u00 = length(c0)
        var q0 = c0 / u00
        let u01 = dot(q0, c1)
        let v1 = c1 - u01 * q0
        let u11 = length(v1)
        let q1 = v1 / u11
        let u02 = dot(q0, c2)
        var v2 = c2 - u02 * q0
        let u12 = dot(q1, v2)
        v2 -= u12 * q1
        let u22 = length(v2)
        let q2 = v2 / u22
        var uRow0 = SIMD3(u00, u01, u02)
        var q = Matrix3(rows: q0, q1, q2).transposed   // columns q0, q1, q2
        if q.determinant < 0 {
            // Move the reflection into the first scale: Q·diag(-1,1,1) and diag(-1,1,1)·U.
            q0 = -q0
            q = Matrix3(rows: q0, q1, q2).transposed
            uRow0 = -uRow0
        }
        let scale = SIMD3(uRow0.x, u11, u22)
        let shear = SIMD3(uRow0.y / uRow0.x, uRow0.z / uRow0.x, u12 / u11)
        self.init(translation: affine.translation,
                  rotationDegrees: Decomposition.eulerDegrees(of: q),
                  scale: scale, shear: shear)
    }

    /// The affine `R · Z · S · p + t`.
    public var affine: Affine {
        let r = Decomposition.rotationMatrix(degrees: rotationDegrees)
        let s = Matrix3(rows: SIMD3(1, shear.x, shear.y), SIMD3(0, 1, shear.z), SIMD3(0, 0, 1))
        return Affine(linear: r * Matrix3.diagonal(scale) * s, translation: translation)
    }

    /// Determinant of the linear part (product of the scales).
    public var determinant: Double { scale.x * scale.y * scale.z }

    /// The angle of the rotation `R` about its own axis, in degrees (0…180).
    public var rotationAngleDegrees: Double {
        let r = Decomposition.rotationMatrix(degrees: rotationDegrees)
        let c = ((r.r0.x + r.r1.y + r.r2.z) - 1) / 2
        return acos(min(1, max(-1, c))) * 180 / .pi
    }

    /// `Rz(z) · Ry(y) · Rx(x)` for angles in degrees.
    public static func rotationMatrix(degrees a: SIMD3<Double>) -> Matrix3 {
        let r = a * (.pi / 180)
        let (sx, cx) = (sin(r.x), cos(r.x))
        let (sy, cy) = (sin(r.y), cos(r.y))
        let (sz, cz) = (sin(r.z), cos(r.z))
        let rx = Matrix3(rows: SIMD3(1, 0, 0), SIMD3(0, cx, -sx), SIMD3(0, sx, cx))
        let ry = Matrix3(rows: SIMD3(cy, 0, sy), SIMD3(0, 1, 0), SIMD3(-sy, 0, cy))
        let rz = Matrix3(rows: SIMD3(cz, -sz, 0), SIMD3(sz, cz, 0), SIMD3(0, 0, 1))
        return rz * ry * rx
    }

    /// Euler angles (degrees) of a proper rotation `R = Rz · Ry · Rx`.
    public static func eulerDegrees(of r: Matrix3) -> SIMD3<Double> {
        let sy = min(1, max(-1, -r.r2.x))
        let y = asin(sy)
        let x: Double, z: Double
        if abs(sy) < 1 - 1e-12 {
            x = atan2(r.r2.y, r.r2.z)
            z = atan2(r.r1.x, r.r0.x)
        } else {
            x = 0
            z = atan2(-r.r0.y, r.r1.y)
        }
        return SIMD3(x, y, z) * (180 / .pi)
    }
}
