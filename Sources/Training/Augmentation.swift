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
    /// normalised coordinates) and Gaussian noise of σ ∈ [0, 0.03]. Background (0) stays 0
    /// apart from the noise.
    public static func apply(_ v: inout Volume, _ rng: inout SeededGenerator) {
        let gamma = exp(rng.uniform(log(0.7), log(1.4)))
        let c = (0..<9).map { _ in rng.uniform(-1, 1) }
        let sigma = rng.uniform(0, 0.03)
        let d = v.dims
        for k in 0..<d.z {
            let z = d.z > 1 ? 2 * Double(k) / Double(d.z - 1) - 1 : 0
            for j in 0..<d.y {
                let y = d.y > 1 ? 2 * Double(j) / Double(d.y - 1) - 1 : 0
                for i in 0..<d.x {
                    let x = d.x > 1 ? 2 * Double(i) / Double(d.x - 1) - 1 : 0
                    let poly = c[0] * x + c[1] * y + c[2] * z + c[3] * x * y + c[4] * y * z + c[5] * x * z
                        + c[6] * x * x + c[7] * y * y + c[8] * z * z
                    let n = v.grid.index(i, j, k)
                    let value = pow(Double(max(0, v.voxels[n])), gamma) * exp(0.3 * poly / 3) + sigma * rng.gaussian()
                    v.voxels[n] = Float(min(1.5, max(0, value)))
                }
            }
        }
    }
}
