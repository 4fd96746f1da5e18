import Foundation
import VolumeCore

/// Random perturbations for unsupervised training: affine (geometry) and intensity.
public struct PerturbationRanges: Codable, Equatable, Sendable {
    /// Largest rotation about each axis, degrees.
    public var maxRotationDegrees: Double
    /// Largest translation along each axis, mm.
    public var maxTranslationMM: Double
    /// Largest relative scale change (0.1 = ±10 %).
    public var maxScale: Double
    /// Largest shear.
    public var maxShear: Double

    public init(maxRotationDegrees: Double, maxTranslationMM: Double, maxScale: Double, maxShear: Double) {
        self.maxRotationDegrees = maxRotationDegrees
        self.maxTranslationMM = maxTranslationMM
        self.maxScale = maxScale
        self.maxShear = maxShear
    }

    /// A random affine in the normalised frame (half-extent `halfExtentMM`), every range
    /// multiplied by `fraction` (the curriculum, 0…1). Uniform in each component.
    public func sample(_ rng: inout SeededGenerator, fraction f: Double, halfExtentMM: Double) -> Affine {
        func u() -> Double { rng.uniform(-1, 1) }
        let d = Decomposition(
            translation: SIMD3(u(), u(), u()) * (maxTranslationMM * f / halfExtentMM),
            rotationDegrees: SIMD3(u(), u(), u()) * (maxRotationDegrees * f),
            scale: SIMD3(1 + u() * maxScale * f, 1 + u() * maxScale * f, 1 + u() * maxScale * f),
            shear: SIMD3(u(), u(), u()) * (maxShear * f))
        return d.affine
    }
}

/// Intensity augmentation of a normalised (0…1) image: gamma, smooth multiplicative bias, noise.
public enum IntensityAugmentation {
    /// Applies `x ↦ (x^γ · b(u) + n)` clipped to [0, 1.5], with γ ∈ [0.7, 1.4] (log-uniform),
    /// `b` a smooth bias `exp(0.3·poly(u)/3)` (random low-order polynomial in the grid's
    /// normalised coordinates) and zero-mean noise of standard deviation σ ∈ [0, 0.03]
    /// (a sum of four uniforms: close to Gaussian, bounded at ±2√3·σ). Background (0) stays 0
    /// apart from the noise.
    ///
    /// Cost: `x^γ` comes from a 2,049-entry table over [0, 1.5] with linear interpolation
    /// (relative error below 1e-3 above x = 0.01, where it matters), so one image of 64³ takes a
    /// few milliseconds; the result is a pure function of the image and the generator's state.
    public static func apply(_ v: inout Volume, _ rng: inout SeededGenerator) {
        let gamma = exp(rng.uniform(log(0.7), log(1.4)))
        let c = (0..<9).map { _ in rng.uniform(-1, 1) }
        let sigma = rng.uniform(0, 0.03)
        let power = PowerTable(exponent: gamma)
        let top = PowerTable.top
        // Noise: (u1 + u2 + u3 + u4 − 2) has variance 1/3; scaled to σ.
        let noiseScale = Float(sigma * 3.0.squareRoot())
        let d = v.dims
        func axis(_ n: Int) -> [Double] { (0..<n).map { n > 1 ? 2 * Double($0) / Double(n - 1) - 1 : 0 } }
        let xs = axis(d.x), ys = axis(d.y), zs = axis(d.z)
        let unit = 1 / Float(UInt32.max)
        for k in 0..<d.z {
            let z = zs[k]
            for j in 0..<d.y {
                let y = ys[j]
                // poly = a + b·x + e·x² along the row.
                let a = c[1] * y + c[2] * z + c[4] * y * z + c[7] * y * y + c[8] * z * z
                let b = c[0] + c[3] * y + c[5] * z
                let rowStart = v.grid.index(0, j, k)
                for i in 0..<d.x {
                    let x = xs[i]
                    let bias = Float(exp(0.1 * (a + b * x + c[6] * x * x)))
                    let n = rowStart + i
                    let powered = power.value(v.voxels[n])
                    let r = rng.next()
                    let r2 = rng.next()
                    let uSum = Float(UInt32(truncatingIfNeeded: r)) * unit + Float(UInt32(truncatingIfNeeded: r >> 32)) * unit
                        + Float(UInt32(truncatingIfNeeded: r2)) * unit + Float(UInt32(truncatingIfNeeded: r2 >> 32)) * unit
                    let out = powered * bias + noiseScale * (uSum - 2)
                    v.voxels[n] = min(Float(top), max(0, out))
                }
            }
        }
    }
}

/// `x^γ` on [0, 1.5] from a table of 2,049 values with linear interpolation (inputs clipped
/// to the range).
struct PowerTable {
    static let top: Double = 1.5
    static let size = 2048
    let table: [Float]
    let toIndex: Float

    init(exponent: Double) {
        table = (0...Self.size).map { Float(pow(Double($0) * Self.top / Double(Self.size), exponent)) }
        toIndex = Float(Double(Self.size) / Self.top)
    }

    func value(_ x: Float) -> Float {
        let f = max(0, min(Float(Self.top), x)) * toIndex
        let q = min(Self.size - 1, Int(f))
        let t = f - Float(q)
        return table[q] + t * (table[q + 1] - table[q])
    }
}
