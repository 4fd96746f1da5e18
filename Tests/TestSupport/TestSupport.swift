import Foundation
import VolumeCore

/// Synthetic volumes built in code (no committed phantoms).
public enum Phantom {
    /// A smooth, asymmetric blob image: a sum of Gaussian ellipsoids of different sizes and
    /// brightness placed off-centre, so that no rotation or flip maps it onto itself.
    public static func blobs(grid: Grid) -> Volume {
        let c = grid.centreWorld
        let extent = grid.worldBoundingBox.max - grid.worldBoundingBox.min
        let r = max(extent.x, extent.y, extent.z) / 2
        // (centre offset as a fraction of r, radii as a fraction of r, amplitude)
        let blobs: [(SIMD3<Double>, SIMD3<Double>, Double)] = [
            (SIMD3(0.0, 0.0, 0.0), SIMD3(0.55, 0.45, 0.40), 100),
            (SIMD3(0.30, 0.10, -0.05), SIMD3(0.15, 0.20, 0.12), 80),
            (SIMD3(-0.25, 0.25, 0.15), SIMD3(0.10, 0.10, 0.18), -60),
            (SIMD3(0.05, -0.30, 0.25), SIMD3(0.12, 0.08, 0.08), 120),
        ]
        var v = Volume(grid: grid)
        for k in 0..<grid.dims.z {
            for j in 0..<grid.dims.y {
                for i in 0..<grid.dims.x {
                    let p = grid.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
                    var s = 0.0
                    for (o, rad, a) in blobs {
                        let d = (p - (c + o * r)) / (rad * r)
                        s += a * exp(-0.5 * (d * d).sum())
                    }
                    v[i, j, k] = Float(s)
                }
            }
        }
        return v
    }

    /// A volume with every voxel drawn from a seeded uniform distribution in [lo, hi).
    public static func noise(grid: Grid, seed: UInt64, lo: Float = 0, hi: Float = 1) -> Volume {
        var rng = SeededGenerator(seed: seed)
        var v = Volume(grid: grid)
        for n in 0..<v.voxels.count { v.voxels[n] = Float(rng.uniform(Double(lo), Double(hi))) }
        return v
    }
}

/// Known transforms for tests.
public enum KnownTransforms {
    /// A random affine with rotations up to `maxDegrees`, scales within ±`maxScale`,
    /// shears within ±`maxShear` and translations within ±`maxTranslation` mm.
    public static func random(_ rng: inout SeededGenerator, maxDegrees: Double = 30, maxScale: Double = 0.2,
                              maxShear: Double = 0.1, maxTranslation: Double = 20) -> Affine {
        let d = Decomposition(
            translation: SIMD3(rng.uniform(-maxTranslation, maxTranslation), rng.uniform(-maxTranslation, maxTranslation), rng.uniform(-maxTranslation, maxTranslation)),
            rotationDegrees: SIMD3(rng.uniform(-maxDegrees, maxDegrees), rng.uniform(-maxDegrees, maxDegrees), rng.uniform(-maxDegrees, maxDegrees)),
            scale: SIMD3(1 + rng.uniform(-maxScale, maxScale), 1 + rng.uniform(-maxScale, maxScale), 1 + rng.uniform(-maxScale, maxScale)),
            shear: SIMD3(rng.uniform(-maxShear, maxShear), rng.uniform(-maxShear, maxShear), rng.uniform(-maxShear, maxShear)))
        return d.affine
    }
}

/// Central finite differences for checking backward passes.
public enum GradientCheck {
    /// Numerical gradient of `f` at `x` by central differences with step `h`.
    public static func numerical(_ x: [Double], h: Double = 1e-4, _ f: ([Double]) -> Double) -> [Double] {
        var g = [Double](repeating: 0, count: x.count)
        var xp = x
        for n in 0..<x.count {
            xp[n] = x[n] + h; let fp = f(xp)
            xp[n] = x[n] - h; let fm = f(xp)
            xp[n] = x[n]
            g[n] = (fp - fm) / (2 * h)
        }
        return g
    }

    /// Largest relative error `|a-b| / max(|a|, |b|, floor)` over the entries.
    public static func maxRelativeError(_ a: [Double], _ b: [Double], floor: Double = 1e-6) -> Double {
        precondition(a.count == b.count)
        var worst = 0.0
        for n in 0..<a.count {
            worst = max(worst, abs(a[n] - b[n]) / max(abs(a[n]), abs(b[n]), floor))
        }
        return worst
    }
}

/// A fresh empty temporary directory for one test.
public func makeTemporaryDirectory(_ name: String = "stnreg-test") -> String {
    let path = NSTemporaryDirectory() + "/\(name)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
