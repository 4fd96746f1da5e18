import Foundation
import Sampling
import VolumeCore

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
