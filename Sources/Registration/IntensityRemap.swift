import Foundation
import Sampling
import Similarity
import VolumeCore

/// The atlas's intensities mapped into the scan's contrast, for the cross-contrast path's finer
/// levels (protocol key `contrast.intensityRemap`).
///
/// Once mutual information has placed a scan of another contrast, each atlas intensity is
/// replaced by the mean intensity of the warped scan over the atlas voxels of that intensity —
/// E[scan | atlas], the regression behind the correlation ratio (FLIRT's "input given
/// reference") — so that the level can optimise windowed NCC, the same-contrast path's measure,
/// between the scan and an atlas rendered in the scan's contrast. The table comes from the
/// level's start (the coarser level's result) and stays fixed through the level.
///
/// Only against a brain atlas (``HeadShell/atlasIsABrain(foregroundLitres:)``): in a head, an
/// atlas intensity no longer names a tissue — in a T1, fat and marrow are as bright as white
/// matter, muscle as grey matter — so E[scan | atlas] blends tissues the scan shows apart, and
/// windowed NCC follows the blend: Colin27's T2 rendering registered to its own T1 with skull
/// (`side_by_side.py --source …_t2 --atlas colin27_t1_2mm`, 4 cases, ±20°) was 0.074 mm off on
/// MI and 0.428 mm on the one case whose 2 mm level remapped.
enum IntensityRemap {
    /// Atlas-intensity bins of the table (atlas intensities normalised on [0, 1], clamped).
    static let bins = 64
    /// Gaussian smoothing of the per-bin sums, in bins: a bin of the 2 mm MNI152 brain holds
    /// ~1–10 k voxels, enough for a mean; the smoothing keeps sparse bins (the brightest few) from
    /// jumping.
    static let smoothingBins = 1.0
    /// The least fraction of the atlas mask the scan's field of view must hold for a remapped
    /// level (measured on real scans: a PD 0.985–0.995 and an fMRI reference 1.0 against a b0
    /// 0.70–0.91, a T2 slab 0.81–0.89, an EPI slab 0.44–0.54).
    static let minimumCoverage = 0.95

    /// E[y | x] on `bins` bins of x ∈ [0, 1] (clamped), weighted by `weights` (> 0 counts): a
    /// linear (two-bin) Parzen window on the x side, the per-bin sums smoothed by a Gaussian of
    /// `sigmaBins`; an empty bin takes the nearest filled bin's mean (the lower on a tie); no
    /// filled bin at all gives the identity. Sums in Double in index order (no threads: the same
    /// bits always).
    static func conditionalMean(of y: [Float], given x: [Float], weights: [Float], bins: Int = bins,
                                sigmaBins: Double = smoothingBins) -> [Double] {
        precondition(bins >= 2 && x.count == y.count && x.count == weights.count, "conditionalMean: mismatched inputs")
        var sw = [Double](repeating: 0, count: bins), sy = sw
        let last = Double(bins - 1)
        for n in x.indices where weights[n] > 0 && x[n].isFinite && y[n].isFinite {
            let u = min(max(Double(x[n]), 0), 1) * last
            let b = min(Int(u), bins - 2), f = u - Double(b)
            let w = Double(weights[n]), v = Double(y[n])
            sw[b] += w * (1 - f); sy[b] += w * (1 - f) * v
            sw[b + 1] += w * f; sy[b + 1] += w * f * v
        }
        let radius = Int((3 * sigmaBins).rounded(.up))
        let kernel = (-radius...radius).map { d in sigmaBins > 0 ? exp(-Double(d * d) / (2 * sigmaBins * sigmaBins)) : (d == 0 ? 1 : 0) }
        var table = [Double?](repeating: nil, count: bins)
        for b in 0..<bins {
            var w = 0.0, v = 0.0
            for d in -radius...radius where b + d >= 0 && b + d < bins {
                w += kernel[d + radius] * sw[b + d]; v += kernel[d + radius] * sy[b + d]
            }
            if w > 1e-12 { table[b] = v / w }
        }
        let filled = table.indices.filter { table[$0] != nil }
        guard !filled.isEmpty else { return (0..<bins).map { Double($0) / last } }
        return (0..<bins).map { b in table[b] ?? table[filled.min { abs($0 - b) < abs($1 - b) }!]! }
    }

    /// `v` with every voxel mapped through `table` (linear between bin centres, x clamped to [0, 1]).
    static func apply(_ table: [Double], to v: Volume) -> Volume {
        let last = Double(table.count - 1)
        return Volume(grid: v.grid, voxels: v.voxels.map { x in
            guard x.isFinite else { return x }
            let u = min(max(Double(x), 0), 1) * last
            let b = min(Int(u), table.count - 2), f = u - Double(b)
            return Float(table[b] * (1 - f) + table[b + 1] * f)
        })
    }

    /// What ``remapped(_:atlasToScan:minCorrelationRatio:threads:)`` found.
    struct Outcome {
        /// η² over the atlas's tissue at the transform given.
        var correlationRatio: Double
        /// The fraction of the atlas mask inside the scan's field of view there (no margin).
        var coverage: Double
        /// The level against the remapped atlas, optimising windowed NCC; nil when η² or the
        /// coverage was below its minimum (the level then stays as it was).
        var level: WorkingLevel?
    }

    /// `level` against its atlas rendered in the scan's contrast for `atlasToScan` (the table over
    /// the level's cost mask there: ``WorkingLevel/costMask(atlasToScan:threads:)``), optimising
    /// windowed NCC — when the atlas explains at least `minCorrelationRatio` of the warped
    /// scan's variance over its tissue (η², ``CorrelationRatio``, over the cost mask's voxels of
    /// normalised atlas intensity above ``Registration/contrastTissueThreshold``, as the contrast
    /// probe). Where it explains less (measured: real EPI, b0 and a real T2 with η² 0.002–0.05
    /// against 0.13–0.36 for the synthetic renderings and a real PD), the remapped atlas is
    /// nearly flat over the brain and windowed NCC would follow distortion and noise. Nor does it
    /// run when the scan's field of view holds less than ``minimumCoverage`` of the atlas mask:
    /// on nibabel's EPI slab (coverage 0.44–0.54, η² 0.14 at 3 mm) it moved the result from
    /// 3.1 to 7.2 mm from ANTs' placement.
    static func remapped(_ level: WorkingLevel, atlasToScan: Affine, minCorrelationRatio: Double, threads: Int) -> Outcome {
        let warped = Refinement.warp(level, atlasToScan, threads)
        let weights = level.costMask(atlasToScan: atlasToScan, threads: threads).mask ?? level.mask
        let coverage = level.coveredMask(atlasToScan: atlasToScan, marginMM: 0).coverage
        let tissue = zip(weights, level.atlas.voxels).map { w, a in a > Registration.contrastTissueThreshold ? w : 0 }
        let eta2 = PreparedCorrelationRatio(atlas: level.atlas.voxels, mask: tissue, bins: WorkingLevel.correlationRatioBins,
                                            threads: threads).value(warped: warped)
        guard eta2 >= minCorrelationRatio, coverage >= minimumCoverage else {
            return Outcome(correlationRatio: eta2, coverage: coverage, level: nil)
        }
        let table = conditionalMean(of: warped, given: level.atlas.voxels, weights: weights)
        let remapped = level.replacingAtlas(apply(table, to: level.atlas), mask: level.mask, threads: threads)
            .optimising(.lncc, threads: threads)
        return Outcome(correlationRatio: eta2, coverage: coverage, level: remapped)
    }
}
