import VolumeCore

/// The gradient of a scalar loss `L` with respect to the 12 entries of an affine `p = A·q + b`.
///
/// `linear[r, c] = ∂L/∂A_rc`, `translation[r] = ∂L/∂b_r`. Units are those of `L` per unit of the
/// entry (e.g. per scan voxel per target voxel for a voxel-to-voxel map).
public struct AffineGradient: Equatable, Sendable, CustomStringConvertible {
    public var linear: Matrix3
    public var translation: SIMD3<Double>

    public init(linear: Matrix3, translation: SIMD3<Double>) {
        self.linear = linear
        self.translation = translation
    }

    public static let zero = AffineGradient(linear: Matrix3(rows: .zero, .zero, .zero), translation: .zero)

    /// The 12 partial derivatives in the order of ``Affine/init(rowMajor3x4:)``:
    /// `A00 A01 A02 b0  A10 A11 A12 b1  A20 A21 A22 b2`.
    public var rowMajor3x4: [Double] {
        let l = linear, t = translation
        return [l.r0.x, l.r0.y, l.r0.z, t.x, l.r1.x, l.r1.y, l.r1.z, t.y, l.r2.x, l.r2.y, l.r2.z, t.z]
    }

    /// Chain rule through a fixed change of frame: if this is `∂L/∂V` for `V = left · M · right`,
    /// returns `∂L/∂M`:
    ///
    ///     ∂L/∂M_lin = Lᵀ · ∂L/∂V_lin · Rᵀ + Lᵀ · ∂L/∂V_t · r_tᵀ
    ///     ∂L/∂M_t   = Lᵀ · ∂L/∂V_t
    ///
    /// with `L = left.linear`, `R = right.linear`, `r_t = right.translation` (`left.translation`
    /// does not enter).
    public func pulledBack(left: Affine, right: Affine) -> AffineGradient {
        let lt = left.linear.transposed
        let gt = lt * translation
        let lin = lt * linear * right.linear.transposed + outer(gt, right.translation)
        return AffineGradient(linear: lin, translation: gt)
    }

    /// Given `∂L/∂(A, b)` of the voxel-to-voxel map of
    /// ``targetVoxelToScanVoxel(target:scan:atlasToScan:)``, the gradient with respect to the
    /// world-space `atlasToScan` (RAS+ mm): the map is `scan.worldToVoxel · atlasToScan ·
    /// target.voxelToWorld`, so this is ``pulledBack(left:right:)`` with those two frames.
    public func atlasToScan(target: Grid, scan: Grid) -> AffineGradient {
        pulledBack(left: scan.worldToVoxel, right: target.voxelToWorld)
    }

    public static func + (a: AffineGradient, b: AffineGradient) -> AffineGradient {
        AffineGradient(linear: a.linear + b.linear, translation: a.translation + b.translation)
    }

    public var description: String {
        "AffineGradient(linear: \(linear), translation: [\(translation.x), \(translation.y), \(translation.z)])"
    }
}

/// The outer product `u · vᵀ`.
func outer(_ u: SIMD3<Double>, _ v: SIMD3<Double>) -> Matrix3 {
    Matrix3(rows: u.x * v, u.y * v, u.z * v)
}
