import Foundation
import Sampling
import VolumeCore

/// An MR contrast that ``SyntheticContrast`` can render.
public enum Contrast: String, CaseIterable, Sendable {
    /// T1-weighted (MPRAGE-like): WM > GM > CSF, fat bright.
    case t1
    /// T2-weighted (fast spin echo): CSF > GM > WM, fat medium-bright, bone dark.
    case t2
    /// Proton density: CSF ≳ GM > WM, low grey/white contrast.
    case pd
    /// T2-FLAIR: GM > WM, CSF suppressed (dark).
    case flair
}

extension Contrast {
    /// Relative signal (0…1, brightest tissue of the contrast ≈ 1) of each tissue.
    ///
    /// Plausible orderings at 1.5–3 T rather than values from a signal equation:
    /// T1 WM 1.0 > GM 0.62 > CSF 0.22, fat 0.95, soft tissue 0.45, bone 0.08;
    /// T2 CSF 1.0 > GM 0.55 > WM 0.40, fat 0.70, soft tissue 0.25, bone 0.05;
    /// PD CSF 0.90 ≳ GM 0.85 > WM 0.70, fat 0.85, soft tissue 0.50, bone 0.05;
    /// FLAIR GM 0.75 > WM 0.55 > CSF 0.10, fat 0.60, soft tissue 0.35, bone 0.05.
    public func signal(_ t: TissueMemberships.Tissue) -> Double {
        let table: [Contrast: [Double]] = [   // csf, gm, wm, fat, soft tissue, bone
            .t1: [0.22, 0.62, 1.00, 0.95, 0.45, 0.08],
            .t2: [1.00, 0.55, 0.40, 0.70, 0.25, 0.05],
            .pd: [0.90, 0.85, 0.70, 0.85, 0.50, 0.05],
            .flair: [0.10, 0.75, 0.55, 0.60, 0.35, 0.05],
        ]
        return table[self]![t.index]
    }
}

/// How ``SyntheticContrast/render(_:contrast:options:rng:threads:)`` degrades the tissue image.
public struct ContrastRenderingOptions: Sendable {
    /// Thick slices along one voxel axis of the input grid.
    public struct ThickSlices: Sendable {
        /// Voxel axis 0, 1 or 2 (2 = k, axial for an RAS grid).
        public var axis: Int
        /// Slice thickness and spacing, mm.
        public var thicknessMM: Double
        /// Resample the thick slices back onto the input grid (trilinear) instead of returning
        /// the thick grid.
        public var backToInputGrid: Bool

        public init(axis: Int = 2, thicknessMM: Double = 5, backToInputGrid: Bool = false) {
            precondition((0...2).contains(axis) && thicknessMM > 0, "thick slices need an axis 0…2 and a positive thickness")
            self.axis = axis; self.thicknessMM = thicknessMM; self.backToInputGrid = backToInputGrid
        }
    }

    /// Largest relative change of the multiplicative bias field (0.2 = ±20 %); 0 for none.
    public var biasAmplitude: Double
    /// Noise σ as a fraction of the image's maximum (0.025 = 2.5 %); 0 for none.
    public var noiseFraction: Double
    /// Rician noise (magnitude of a complex signal with Gaussian noise on both channels; the
    /// background becomes Rayleigh-distributed), else additive Gaussian clipped at 0.
    public var rician: Bool
    public var thickSlices: ThickSlices?

    public init(biasAmplitude: Double = 0.2, noiseFraction: Double = 0.025, rician: Bool = true,
                thickSlices: ThickSlices? = ThickSlices()) {
        self.biasAmplitude = biasAmplitude; self.noiseFraction = noiseFraction
        self.rician = rician; self.thickSlices = thickSlices
    }

    /// The clean tissue image: no bias, no noise, no thick slices.
    public static let clean = ContrastRenderingOptions(biasAmplitude: 0, noiseFraction: 0, thickSlices: nil)
}

/// Deterministic synthetic T1-, T2-, PD- and FLAIR-like images from tissue memberships, for
/// cross-contrast benchmarks and tests (issue #13).
///
/// `render` = ``tissueImage(_:contrast:)`` (Σ membership × ``Contrast/signal(_:)``), then the
/// bias field (on the input grid), then thick slices (``thickSlices(_:axis:thicknessMM:threads:)``),
/// then noise (on the output grid, as a scanner adds it after acquisition). All randomness comes
/// from the generator passed in: the same memberships, options and generator state give the same
/// bytes, for any thread count. Output world space = input world space.
public enum SyntheticContrast {
    public static func render(_ m: TissueMemberships, contrast: Contrast, options: ContrastRenderingOptions = .init(),
                              rng: inout SeededGenerator, threads: Int = ThreadPolicy.defaultThreadCount) -> Volume {
        var v = tissueImage(m, contrast: contrast)
        if options.biasAmplitude > 0 { applyBiasField(&v, amplitude: options.biasAmplitude, rng: &rng) }
        if let t = options.thickSlices {
            let thick = thickSlices(v, axis: t.axis, thicknessMM: t.thicknessMM, threads: threads)
            v = t.backToInputGrid ? resample(thick, onto: v.grid, threads: threads) : thick
        }
        if options.noiseFraction > 0 {
            let sigma = Double(v.intensityRange?.max ?? 0) * options.noiseFraction
            addNoise(&v, sigma: sigma, rician: options.rician, rng: &rng)
        }
        return v
    }

    /// `Σ_t m_t(x) · contrast.signal(t)` at every voxel, on the memberships' grid.
    public static func tissueImage(_ m: TissueMemberships, contrast: Contrast) -> Volume {
        var out = [Float](repeating: 0, count: m.grid.voxelCount)
        for t in TissueMemberships.Tissue.allCases {
            let s = Float(contrast.signal(t))
            let f = m.fractions[t.index]
            for v in 0..<out.count { out[v] += s * f[v] }
        }
        return Volume(grid: m.grid, voxels: out)
    }

    /// The grid of thick slices: `axis`'s spacing becomes `thicknessMM`, the other axes keep
    /// theirs, same direction cosines and centre; `⌊(n−1)·s / t⌋ + 1` slices.
    public static func thickSliceGrid(_ g: Grid, axis: Int, thicknessMM t: Double) -> Grid {
        let s = g.spacingMM[axis]
        var dims = g.dims
        dims[axis] = Int((Double(g.dims[axis] - 1) * s / t).rounded(.down)) + 1
        var columns = [g.voxelToWorld.linear.column(0), g.voxelToWorld.linear.column(1), g.voxelToWorld.linear.column(2)]
        columns[axis] *= t / s
        let linear = Matrix3(rows: SIMD3(columns[0].x, columns[1].x, columns[2].x), SIMD3(columns[0].y, columns[1].y, columns[2].y),
                             SIMD3(columns[0].z, columns[1].z, columns[2].z))
        let origin = g.centreWorld - linear * (SIMD3<Double>(dims &- 1) / 2)
        return Grid(dims: dims, voxelToWorld: Affine(linear: linear, translation: origin))
    }

    /// Thick slices: a Gaussian slice profile of FWHM `thicknessMM` along `axis` (the blur of
    /// `smoothAndResample`, `σ = √(t² − s²) / 2.355`), sampled trilinearly at the slice centres
    /// of ``thickSliceGrid(_:axis:thicknessMM:)``.
    public static func thickSlices(_ v: Volume, axis: Int, thicknessMM: Double,
                                   threads: Int = ThreadPolicy.defaultThreadCount) -> Volume {
        smoothAndResample(v, onto: thickSliceGrid(v.grid, axis: axis, thicknessMM: thicknessMM), threads: threads)
    }

    /// Multiplies by a smooth field `1 + a · q(u) / max|q|`, `q` a random polynomial of degree 2 in
    /// the grid's normalised voxel coordinates `u ∈ [−1, 1]³` (9 coefficients uniform in [−1, 1]),
    /// so the field stays within `1 ± amplitude` and reaches one of the bounds.
    public static func applyBiasField(_ v: inout Volume, amplitude: Double, rng: inout SeededGenerator) {
        let c = (0..<9).map { _ in rng.uniform(-1, 1) }
        let d = v.dims
        func axis(_ n: Int) -> [Double] { (0..<n).map { n > 1 ? 2 * Double($0) / Double(n - 1) - 1 : 0 } }
        let xs = axis(d.x), ys = axis(d.y), zs = axis(d.z)
        var q = [Double](repeating: 0, count: v.voxels.count)
        var top = 0.0
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<d.x {
                    let x = xs[i], y = ys[j], z = zs[k]
                    let p = c[0] * x + c[1] * y + c[2] * z + c[3] * x * y + c[4] * y * z + c[5] * x * z
                        + c[6] * (x * x - 1 / 3) + c[7] * (y * y - 1 / 3) + c[8] * (z * z - 1 / 3)
                    q[v.grid.index(i, j, k)] = p
                    top = max(top, abs(p))
                }
            }
        }
        guard top > 0 else { return }
        for n in 0..<q.count { v.voxels[n] *= Float(1 + amplitude * q[n] / top) }
    }

    /// Adds noise of standard deviation `sigma` (image units): Rician `|x + σn₁ + iσn₂|`, or
    /// Gaussian `max(0, x + σn)`. Voxels in order, two (Rician) or one deviate each.
    public static func addNoise(_ v: inout Volume, sigma: Double, rician: Bool, rng: inout SeededGenerator) {
        for n in 0..<v.voxels.count {
            let x = Double(v.voxels[n])
            if rician {
                let re = x + sigma * rng.gaussian(), im = sigma * rng.gaussian()
                v.voxels[n] = Float((re * re + im * im).squareRoot())
            } else {
                v.voxels[n] = Float(max(0, x + sigma * rng.gaussian()))
            }
        }
    }
}
