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

/// Soft tissue memberships on one grid: for each ``Tissue`` a fraction 0…1 per voxel.
///
/// At every voxel the fractions sum to at most 1; the remainder is air / background (signal 0).
/// Voxel order as ``Volume`` (`i` fastest).
public struct TissueMemberships: Sendable {
    /// The tissue classes rendered. The last three are outside the brain (head images only).
    public enum Tissue: String, CaseIterable, Sendable {
        case csf, greyMatter, whiteMatter
        /// Scalp and orbital fat, marrow: the brightest non-brain T1 band.
        case fat
        /// Muscle, skin, dura: the middle non-brain T1 band.
        case softTissue
        /// Bone (and whatever else is dark in T1 outside the brain, e.g. extra-cerebral CSF).
        case bone
    }

    public let grid: Grid
    /// `fractions[t.index]` is tissue `t`'s map, `grid.voxelCount` values.
    public private(set) var fractions: [[Float]]

    public init(grid: Grid) {
        self.grid = grid
        fractions = Array(repeating: [Float](repeating: 0, count: grid.voxelCount), count: Tissue.allCases.count)
    }

    public subscript(t: Tissue) -> [Float] {
        get { fractions[t.index] }
        set {
            precondition(newValue.count == grid.voxelCount, "membership map has \(newValue.count) voxels, grid \(grid.voxelCount)")
            fractions[t.index] = newValue
        }
    }

    /// Tissue `t`'s map as a volume.
    public func volume(_ t: Tissue) -> Volume { Volume(grid: grid, voxels: self[t]) }

    /// Memberships from tissue probability maps (the MNI152 2009a GM and WM maps, 0–255).
    ///
    /// Recipe: `GM = gm / 255`, `WM = wm / 255`, `CSF = max(0, B − GM − WM)` with the brain
    /// region `B = max(brainMask > 0, min(1, t1 / (0.2 · median of t1 over the mask)))`; no
    /// non-brain tissue (the template is skull-stripped); background 0. The T1 term is there
    /// because TestVolumes' brain mask is GM + WM ≥ 50 %, which leaves the ventricles and sulcal
    /// CSF out: with the mask alone they would render as background, dark in every contrast, when
    /// they are the brightest structures of a T2. Pass `t1: nil` for the mask-only recipe.
    /// All inputs must share one grid (precondition).
    public static func fromProbabilityMaps(greyMatter gm: Volume, whiteMatter wm: Volume, brainMask: Volume,
                                           t1: Volume? = nil) -> TissueMemberships {
        precondition(gm.grid == wm.grid && gm.grid == brainMask.grid && (t1 == nil || t1!.grid == gm.grid),
                     "tissue maps must share one grid")
        var m = TissueMemberships(grid: gm.grid)
        let n = gm.voxels.count
        var g = [Float](repeating: 0, count: n), w = g, c = g
        var t1Scale: Float = 0
        if let t1 {
            let inMask = (0..<n).filter { brainMask.voxels[$0] > 0 }.map { t1.voxels[$0] }.sorted()
            if !inMask.isEmpty { t1Scale = 1 / (0.2 * inMask[inMask.count / 2]) }
        }
        for v in 0..<n {
            g[v] = min(1, max(0, gm.voxels[v] / 255))
            w[v] = min(1 - g[v], max(0, wm.voxels[v] / 255))
            var b: Float = brainMask.voxels[v] > 0 ? 1 : 0
            if let t1, t1Scale > 0 { b = max(b, min(1, max(0, t1.voxels[v] * t1Scale))) }
            c[v] = max(0, b - g[v] - w[v])
        }
        m[.greyMatter] = g; m[.whiteMatter] = w; m[.csf] = c
        return m
    }

    /// Memberships derived from a T1 image alone (e.g. Colin27), with a brain image that says
    /// where the brain is.
    ///
    /// Recipe:
    /// 1. Brain = voxels where `brain` (resampled onto `t1`'s grid, nearest neighbour) is
    ///    positive. Pass the T1 itself as `brain` for a skull-stripped image.
    /// 2. Inside the brain core (`brain` above 5 % of its 99th percentile, so that the soft edge
    ///    does not count), the histogram of `t1` (128 bins between its 1st and 99.5th
    ///    percentiles, smoothed with a [1 4 6 4 1] kernel) gives the WM mode (highest bin above
    ///    the median) and the GM mode (highest bin below WM − 10 % of the range); the CSF level
    ///    is `max(p1, GM − 1.5·(WM − GM))` (CSF has no peak of its own at 2 mm).
    /// 3. Memberships are the linear partial-volume model between adjacent levels of
    ///    air (0) < CSF < GM < WM: between two levels a linear mix of the two classes, above WM
    ///    all WM (below CSF the rest is air). So `Σ m · level` gives back the T1 value (clipped
    ///    to WM).
    /// 4. Outside the brain, voxels of `t1` are split the same way into the bands
    ///    air (level 0) < bone (0.25·WM) < soft tissue (0.6·WM) < fat (1.3·WM); above the fat
    ///    level all fat. Extra-cerebral CSF and dura fall in the bone / soft-tissue bands.
    /// Does not hold: lesions, vessels and the choroid plexus are classed by intensity alone.
    public static func fromT1(_ t1: Volume, brain: Volume) -> TissueMemberships {
        let brainOnGrid = brain.grid == t1.grid ? brain : resample(brain, onto: t1.grid, interpolation: .nearest)
        let n = t1.voxels.count
        let bSorted = brainOnGrid.voxels.filter { $0 > 0 }.sorted()
        let threshold = bSorted.isEmpty ? 0 : 0.05 * bSorted[Int(0.99 * Double(bSorted.count - 1))]
        let isBrain = brainOnGrid.voxels.map { $0 > 0 }
        let inside = (0..<n).filter { brainOnGrid.voxels[$0] > threshold }.map { t1.voxels[$0] }.sorted()
        precondition(!inside.isEmpty, "the brain image has no foreground")
        let levels = brainLevels(sortedIntensities: inside)
        var m = TissueMemberships(grid: t1.grid)
        var c = [Float](repeating: 0, count: n), g = c, w = c, f = c, s = c, b = c
        let outside: [Float] = [0, 0.25 * levels.wm, 0.6 * levels.wm, 1.3 * levels.wm]
        for v in 0..<n {
            let x = t1.voxels[v]
            if isBrain[v] {
                let p = linearMemberships(x, levels: [0, levels.csf, levels.gm, levels.wm], belowFirst: false)
                c[v] = p[1]; g[v] = p[2]; w[v] = p[3]
            } else if x > 0 {
                let p = linearMemberships(x, levels: outside, belowFirst: false)
                b[v] = p[1]; s[v] = p[2]; f[v] = p[3]
            }
        }
        m[.csf] = c; m[.greyMatter] = g; m[.whiteMatter] = w; m[.fat] = f; m[.softTissue] = s; m[.bone] = b
        return m
    }

    /// CSF, GM and WM intensity levels from the brain's sorted T1 intensities (recipe step 2).
    static func brainLevels(sortedIntensities v: [Float]) -> (csf: Float, gm: Float, wm: Float) {
        func pct(_ p: Double) -> Float { v[Int(p * Double(v.count - 1))] }
        let lo = pct(0.01), hi = max(pct(0.995), lo + 1e-6), median = pct(0.5)
        let bins = 128
        var h = [Double](repeating: 0, count: bins)
        for x in v where x >= lo && x <= hi { h[min(bins - 1, Int(Double((x - lo) / (hi - lo)) * Double(bins)))] += 1 }
        let k: [Double] = [1, 4, 6, 4, 1]
        let smooth = (0..<bins).map { i in (0..<5).reduce(0.0) { acc, t in
            let j = i + t - 2
            return j >= 0 && j < bins ? acc + k[t] * h[j] : acc
        } }
        func centre(_ i: Int) -> Float { lo + (Float(i) + 0.5) / Float(bins) * (hi - lo) }
        let medianBin = min(bins - 1, Int(Double((median - lo) / (hi - lo)) * Double(bins)))
        let wmBin = (medianBin..<bins).max { smooth[$0] < smooth[$1] }!
        let gap = bins / 10
        let gmBin = wmBin - gap > 0 ? (0..<(wmBin - gap)).max { smooth[$0] < smooth[$1] }! : 0
        let wm = centre(wmBin), gm = min(centre(gmBin), wm - 1e-3)
        return (max(lo, min(gm - 1e-3, gm - 1.5 * (wm - gm))), gm, wm)
    }

    /// Partial-volume memberships of `x` between increasing `levels`: linear between adjacent
    /// levels, all of the last class above the last level; below the first level all of the first
    /// class (`belowFirst`) or a linear ramp from 0 (the first level is then 0 and means air).
    static func linearMemberships(_ x: Float, levels: [Float], belowFirst: Bool) -> [Float] {
        var p = [Float](repeating: 0, count: levels.count)
        if x <= levels[0] {
            p[0] = belowFirst ? 1 : 0
            return p
        }
        for a in 0..<(levels.count - 1) where x < levels[a + 1] {
            let t = (x - levels[a]) / (levels[a + 1] - levels[a])
            p[a] = 1 - t; p[a + 1] = t
            return p
        }
        p[levels.count - 1] = 1
        return p
    }
}

extension TissueMemberships.Tissue {
    /// Position in `allCases`, the index of ``TissueMemberships/fractions``.
    public var index: Int { Self.allCases.firstIndex(of: self)! }
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
