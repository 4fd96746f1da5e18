/// A 3×3 matrix of Doubles, stored by rows.
///
/// Used for the linear part of an ``Affine``. Products follow the usual
/// convention: `(a * b) * v == a * (b * v)`.
public struct Matrix3: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var r0: SIMD3<Double>
    public var r1: SIMD3<Double>
    public var r2: SIMD3<Double>

    public init(rows r0: SIMD3<Double>, _ r1: SIMD3<Double>, _ r2: SIMD3<Double>) {
        self.r0 = r0; self.r1 = r1; self.r2 = r2
    }

    /// Builds a matrix from 9 entries given row by row.
    public init(rowMajor e: [Double]) {
        precondition(e.count == 9, "Matrix3 needs 9 entries")
        r0 = SIMD3(e[0], e[1], e[2]); r1 = SIMD3(e[3], e[4], e[5]); r2 = SIMD3(e[6], e[7], e[8])
    }

    public static let identity = Matrix3(rows: SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1))

    public static func diagonal(_ d: SIMD3<Double>) -> Matrix3 {
        Matrix3(rows: SIMD3(d.x, 0, 0), SIMD3(0, d.y, 0), SIMD3(0, 0, d.z))
    }

    /// Entry at row `r`, column `c` (0-based).
    public subscript(r: Int, c: Int) -> Double {
        get { row(r)[c] }
        set {
            switch r {
            case 0: r0[c] = newValue
            case 1: r1[c] = newValue
            default: r2[c] = newValue
            }
        }
    }

    public func row(_ r: Int) -> SIMD3<Double> { r == 0 ? r0 : (r == 1 ? r1 : r2) }
    public func column(_ c: Int) -> SIMD3<Double> { SIMD3(r0[c], r1[c], r2[c]) }

    /// The 9 entries row by row.
    public var rowMajor: [Double] { [r0.x, r0.y, r0.z, r1.x, r1.y, r1.z, r2.x, r2.y, r2.z] }

    public var transposed: Matrix3 { Matrix3(rows: column(0), column(1), column(2)) }

    public var determinant: Double {
        r0.x * (r1.y * r2.z - r1.z * r2.y)
            - r0.y * (r1.x * r2.z - r1.z * r2.x)
            + r0.z * (r1.x * r2.y - r1.y * r2.x)
    }

    /// The inverse, or `nil` when the matrix is singular (|det| below `1e-12` of its scale).
    public var inverse: Matrix3? {
        let det = determinant
        let scale = max(maxAbs(r0), maxAbs(r1), maxAbs(r2))
        guard det.isFinite, scale > 0, abs(det) > 1e-12 * scale * scale * scale else { return nil }
        // Rows of the inverse are the cross products of the columns, divided by det.
        let c0 = column(0), c1 = column(1), c2 = column(2)
        let i0 = cross(c1, c2) / det
        let i1 = cross(c2, c0) / det
        let i2 = cross(c0, c1) / det
        return Matrix3(rows: i0, i1, i2)
    }

    public static func * (a: Matrix3, b: Matrix3) -> Matrix3 {
        let bt = b.transposed
        func rowTimes(_ r: SIMD3<Double>) -> SIMD3<Double> {
            SIMD3((r * bt.r0).sum(), (r * bt.r1).sum(), (r * bt.r2).sum())
        }
        return Matrix3(rows: rowTimes(a.r0), rowTimes(a.r1), rowTimes(a.r2))
    }

    public static func * (a: Matrix3, v: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3((a.r0 * v).sum(), (a.r1 * v).sum(), (a.r2 * v).sum())
    }

    public static func + (a: Matrix3, b: Matrix3) -> Matrix3 {
        Matrix3(rows: a.r0 + b.r0, a.r1 + b.r1, a.r2 + b.r2)
    }

    public static func - (a: Matrix3, b: Matrix3) -> Matrix3 {
        Matrix3(rows: a.r0 - b.r0, a.r1 - b.r1, a.r2 - b.r2)
    }

    /// Largest absolute entry of `a - b`.
    public static func maxAbsDifference(_ a: Matrix3, _ b: Matrix3) -> Double {
        let d = a - b
        return max(maxAbs(d.r0), maxAbs(d.r1), maxAbs(d.r2))
    }

    public var isFinite: Bool {
        rowMajor.allSatisfy { $0.isFinite }
    }

    public var description: String {
        "[" + [r0, r1, r2].map { "[\($0.x), \($0.y), \($0.z)]" }.joined(separator: ", ") + "]"
    }
}

@inlinable
public func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

@inlinable
public func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }

/// Largest absolute component.
@inlinable
public func maxAbs(_ v: SIMD3<Double>) -> Double { max(abs(v.x), abs(v.y), abs(v.z)) }

@inlinable
public func length(_ a: SIMD3<Double>) -> Double { dot(a, a).squareRoot() }

/// An affine map of 3D points, `p ↦ linear · p + translation`, i.e. the 4×4 matrix
/// `[linear translation; 0 0 0 1]`.
///
/// Composition reads right to left like matrices: `(a * b).apply(p) == a.apply(b.apply(p))`.
/// What space an affine maps between is part of its *name* (`voxelToWorld`, `atlasToScan`);
/// the type itself is frame-agnostic.
public struct Affine: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var linear: Matrix3
    public var translation: SIMD3<Double>

    public init(linear: Matrix3 = .identity, translation: SIMD3<Double> = .zero) {
        self.linear = linear
        self.translation = translation
    }

    /// Builds an affine from the top three rows of a 4×4 matrix, row by row (12 values).
    public init(rowMajor3x4 e: [Double]) {
        precondition(e.count == 12, "Affine needs 12 entries (3 rows of 4)")
        linear = Matrix3(rows: SIMD3(e[0], e[1], e[2]), SIMD3(e[4], e[5], e[6]), SIMD3(e[8], e[9], e[10]))
        translation = SIMD3(e[3], e[7], e[11])
    }

    /// Builds an affine from a full 4×4 matrix given row by row (16 values).
    /// Returns nil when the last row is not `0 0 0 1` (to within 1e-9).
    public init?(rowMajor4x4 e: [Double]) {
        guard e.count == 16, abs(e[12]) < 1e-9, abs(e[13]) < 1e-9, abs(e[14]) < 1e-9, abs(e[15] - 1) < 1e-9 else {
            return nil
        }
        self.init(rowMajor3x4: Array(e[0..<12]))
    }

    public static let identity = Affine()

    public static func translation(_ t: SIMD3<Double>) -> Affine { Affine(translation: t) }

    public static func scaling(_ s: SIMD3<Double>) -> Affine { Affine(linear: .diagonal(s)) }

    /// The top three rows of the 4×4 matrix, row by row (12 values):
    /// `[L00, L01, L02, t0, L10, L11, L12, t1, L20, L21, L22, t2]`. This is the one 12-entry
    /// order of the project: gradients with respect to an affine (``AffineGradient``), the
    /// refinement's chain rule and the network's output map all use it.
    public var rowMajor3x4: [Double] { Array(rowMajor4x4[0..<12]) }

    /// The 4×4 matrix row by row (16 values, last row `0 0 0 1`).
    public var rowMajor4x4: [Double] {
        [linear.r0.x, linear.r0.y, linear.r0.z, translation.x,
         linear.r1.x, linear.r1.y, linear.r1.z, translation.y,
         linear.r2.x, linear.r2.y, linear.r2.z, translation.z,
         0, 0, 0, 1]
    }

    /// The 4×4 matrix as rows of 4 (last row `0 0 0 1`).
    public var rows4x4: [[Double]] {
        let m = rowMajor4x4
        return [Array(m[0..<4]), Array(m[4..<8]), Array(m[8..<12]), Array(m[12..<16])]
    }

    @inlinable
    public func apply(_ p: SIMD3<Double>) -> SIMD3<Double> { linear * p + translation }

    /// Applies only the linear part (for directions and displacements).
    @inlinable
    public func applyToVector(_ v: SIMD3<Double>) -> SIMD3<Double> { linear * v }

    public static func * (a: Affine, b: Affine) -> Affine {
        Affine(linear: a.linear * b.linear, translation: a.linear * b.translation + a.translation)
    }

    /// The inverse, or nil when the linear part is singular.
    public var inverse: Affine? {
        guard let li = linear.inverse else { return nil }
        return Affine(linear: li, translation: -(li * translation))
    }

    public var determinant: Double { linear.determinant }

    public var isFinite: Bool {
        linear.isFinite && translation.x.isFinite && translation.y.isFinite && translation.z.isFinite
    }

    /// Largest absolute difference between corresponding entries.
    public static func maxAbsDifference(_ a: Affine, _ b: Affine) -> Double {
        max(Matrix3.maxAbsDifference(a.linear, b.linear), maxAbs(a.translation - b.translation))
    }

    /// Conjugation by a change of frame: `frame⁻¹ · self · frame`, given `frame` and its inverse.
    public func conjugated(by frame: Affine, inverse frameInverse: Affine) -> Affine {
        frameInverse * self * frame
    }

    public var description: String {
        rows4x4.prefix(3).map { "[" + $0.map { String($0) }.joined(separator: ", ") + "]" }.joined(separator: "\n")
    }
}

extension Affine: Codable {
    /// Encoded as the 4×4 matrix, a list of 4 rows of 4 numbers (last row `0 0 0 1`).
    public init(from decoder: Decoder) throws {
        let rows = try decoder.singleValueContainer().decode([[Double]].self)
        guard rows.count == 4, rows.allSatisfy({ $0.count == 4 }),
              let a = Affine(rowMajor4x4: rows.flatMap { $0 }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "expected a 4×4 affine matrix (4 rows of 4 numbers, last row 0 0 0 1)"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rows4x4)
    }
}
