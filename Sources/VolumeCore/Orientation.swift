import Foundation

/// The anatomical direction each voxel axis points to, as in the usual three-letter codes.
///
/// Letter `n` names where axis `n` (i, j, k) *increases towards*: "RAS" means i runs
/// left→Right, j posterior→Anterior, k inferior→Superior (NIfTI's world frame).
public struct Orientation: Equatable, Sendable, CustomStringConvertible {
    /// Three letters from R/L, A/P, S/I.
    public var code: String
    /// True when some voxel axis is not within `obliqueToleranceDegrees` of a world axis.
    public var isOblique: Bool
    /// The largest angle (degrees) between a voxel axis and its nearest world axis.
    public var obliquityDegrees: Double

    public static let obliqueToleranceDegrees = 0.01

    public init(voxelToWorld: Affine) {
        let l = voxelToWorld.linear
        var letters = ""
        var worst = 0.0
        var used = Set<Int>()
        for axis in 0..<3 {
            let c = l.column(axis)
            let n = length(c)
            let u = n > 0 ? c / n : .zero
            // Nearest world axis not yet taken (ties broken by order).
            var best = -1
            var bestAbs = -1.0
            for w in 0..<3 where !used.contains(w) && abs(u[w]) > bestAbs {
                best = w; bestAbs = abs(u[w])
            }
            used.insert(best)
            let positive = u[best] >= 0
            switch best {
            case 0: letters += positive ? "R" : "L"
            case 1: letters += positive ? "A" : "P"
            default: letters += positive ? "S" : "I"
            }
            let angle = acosDegrees(min(1, bestAbs))
            worst = max(worst, angle)
        }
        code = letters
        obliquityDegrees = worst
        isOblique = worst > Orientation.obliqueToleranceDegrees
    }

    public var description: String {
        isOblique ? "\(code) (oblique, \(String(format1: obliquityDegrees))°)" : code
    }
}

private func acosDegrees(_ x: Double) -> Double { acos(x) * 180 / .pi }

extension String {
    /// One decimal place, no locale.
    init(format1 v: Double) { self = String(format: "%.1f", v) }
}
