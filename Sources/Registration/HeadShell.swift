import Foundation
import Sampling
import VolumeCore

/// A synthetic head around a skull-stripped atlas's brain, for the coarse stages of a scan with
/// skull of another contrast than the atlas.
///
/// Why: against a skull-stripped atlas a scan with skull has nowhere to put its skull and scalp;
/// on the cross-contrast path (mutual information) the coarse stages then fitted the atlas brain
/// to the whole head (a real b0: scale 1.12 / 1.10 / 1.03; README, "A head shell around a
/// skull-stripped atlas"). With a head around the atlas brain they find the brain in the head.
/// The shell is a caricature of a T1 head, so finer levels — where it would pull (a T1 moved
/// 1.55 mm with it on every level) — and the check see the plain atlas.
///
/// What, by the distance from the atlas brain (its foreground with holes filled, on a 2 mm grid):
/// 0–2 mm "CSF" 0.10, 2–7 mm "skull" 0.02, 7–13 mm "scalp" 0.60, in normalised intensities (the
/// atlas's high percentile is 1), blurred by 1 mm.
///
/// When (``decide(atlas:coverage:)``): the atlas's filled foreground on the search level is below
/// ``maxAtlasLitres`` (a brain, not a head), the scan's field of view covers at least
/// ``minCoverage`` of the atlas mask at the probe's start (not a thin slab), and only on the
/// cross-contrast path (a T1 scan with skull already registers to a skull-stripped T1 atlas).
/// Whether the scan has skull is not asked: for a skull-stripped scan the shell faces the scan's empty background, which mutual
/// information takes as one more intensity pairing; measured on the contrast benchmark, stripped
/// Colin27 renderings moved by at most 0.03 mm (T2 1.567 → 1.538 mm, PD 1.142 → 1.112 mm from
/// their T1 result), where a rule on the scan's foreground volume would have hung on brain size
/// (a first version with such a rule, not kept: a real b0 with skull measured only 1.15 times the
/// atlas brain, stripped Colin27 1.02–1.04).
enum HeadShell {
    /// Outer radius (mm) and normalised intensity of each layer, inside out.
    static let layers: [(outerMM: Float, intensity: Float)] = [(2, 0.10), (7, 0.02), (13, 0.60)]
    static let blurMM = 1.0
    /// The grid the shell is built on.
    static let buildSpacingMM = 2.0
    /// Margin (mm) around the atlas foreground of the shelled grids: the outer layer, its blur,
    /// and the pyramid's usual 10 mm.
    static let marginMM = 25.0
    /// A skull-stripped adult brain with cerebellum is 1.2–1.9 L; on the 6 mm search level, whose
    /// blur swells the foreground, the MNI152 2009a brain measures 2.1–2.2 L, Colin27 with skull
    /// 4.4 L.
    static let maxAtlasLitres = 2.6

    /// Whether an atlas whose filled foreground on the search level is `foregroundLitres` is a
    /// brain (skull-stripped), not a head: the head shell's test, and the intensity remap's
    /// (``IntensityRemap``: in a head an atlas intensity no longer names a tissue).
    static func atlasIsABrain(foregroundLitres: Double) -> Bool { foregroundLitres < maxAtlasLitres }

    /// The volume (litres) of the voxels above the pyramid's foreground threshold, enclosed holes
    /// filled (a dark skull or ventricles count; background noise touching the border does not).
    static func filledForegroundLitres(_ v: Volume) -> Double {
        let filled = DistanceTransform.fillingHoles(v.voxels.map { $0 > Pyramid.foregroundThreshold }, grid: v.grid)
        let s = v.grid.spacingMM
        return Double(filled.reduce(0) { $0 + ($1 ? 1 : 0) }) * s.x * s.y * s.z / 1e6
    }

    /// The least fraction of the atlas mask the scan's field of view must cover at the probe's
    /// start for the shell to apply. A thinner slab shows a band of the head, whose height the
    /// shell's rings cannot tell: nibabel's 53 mm EPI slab (coverage 0.43) went from 3.2 to
    /// 7.4 mm from ANTs' result with the shell, with an extreme shear. Real scans it helps or
    /// leaves alone cover 0.82 (a b0) to 0.92 (an fMRI reference); slabs of 120–130 mm 0.85–0.89.
    static let minCoverage = 0.6

    /// Whether the shell applies, from the filled foreground (litres, ``filledForegroundLitres(_:)``)
    /// of the search level's atlas and the scan's coverage of it.
    static func decide(atlasLitres litres: Double, coverage: Double) -> Registration.HeadShellDecision {
        .init(atlasForegroundLitres: litres, scanCoverage: coverage,
              applies: atlasIsABrain(foregroundLitres: litres) && coverage >= minCoverage)
    }

    /// The normalised atlas with the shell, on a 2 mm grid over its foreground box and the margin,
    /// and the head (brain or shell: 1, else 0) on that grid.
    static func build(atlas: Volume, threads: Int) -> (atlas: Volume, head: Volume) {
        let box = ImagePreparation.foregroundBox(atlas, threshold: Pyramid.foregroundThreshold, marginMM: marginMM, threads: threads)
        let grid = Pyramid.isotropicGrid(box: box, spacingMM: buildSpacingMM)
        let a = smoothAndResample(atlas, onto: grid, threads: threads)
        let brain = DistanceTransform.fillingHoles(a.voxels.map { $0 > Pyramid.foregroundThreshold }, grid: grid)
        let distance = DistanceTransform.euclidean(brain, grid: grid, threads: threads)
        var shell = Volume(grid: grid), head = Volume(grid: grid)
        for n in brain.indices {
            if brain[n] { head.voxels[n] = 1; continue }
            guard let layer = layers.first(where: { distance[n] <= $0.outerMM }) else { continue }
            head.voxels[n] = 1
            shell.voxels[n] = layer.intensity
        }
        shell = gaussianBlur(shell, sigmaMM: SIMD3(repeating: blurMM), threads: threads)
        var shelled = a
        for n in brain.indices where !brain[n] { shelled.voxels[n] = shell.voxels[n] }
        return (shelled, head)
    }

    /// `plain` (a working level of the plain atlas) with the shelled atlas instead: the same scan,
    /// measure and scan-side cost mask; the mask is the head (and the shelled atlas's foreground,
    /// dilated by a voxel as every level's), without the voxels the plain level's mask leaves out
    /// of its atlas foreground (an atlas cost-function mask's exclusions).
    static func level(_ shelled: (atlas: Volume, head: Volume), replacing plain: WorkingLevel, threads: Int) -> WorkingLevel {
        let box = shelled.atlas.grid.worldBoundingBox
        let grid = Pyramid.isotropicGrid(box: box, spacingMM: plain.spacingMM)
        let atlas = smoothAndResample(shelled.atlas, onto: grid, threads: threads)
        let head = resample(shelled.head, onto: grid, atlasToScan: .identity, threads: threads)
        var mask = ImagePreparation.mask(atlas, threshold: Pyramid.foregroundThreshold, dilation: 1, threads: threads)
        // The plain level's exclusions: its foreground voxels its mask leaves out.
        let foreground = ImagePreparation.mask(plain.atlas, threshold: Pyramid.foregroundThreshold, dilation: 1, threads: threads)
        var excluded = Volume(grid: plain.atlas.grid)
        for n in foreground.indices where foreground[n] > 0 && plain.mask[n] == 0 { excluded.voxels[n] = 1 }
        let out = resample(excluded, onto: grid, atlasToScan: .identity, threads: threads)
        for n in mask.indices {
            if head.voxels[n] >= 0.5 { mask[n] = 1 }
            if out.voxels[n] >= 0.5 { mask[n] = 0 }
        }
        return plain.replacingAtlas(atlas, mask: mask, threads: threads)
    }
}
