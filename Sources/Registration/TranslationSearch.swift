import FFT
import Sampling
import VolumeCore

/// Exhaustive integer-shift translation search by masked FFT cross-correlation (DESIGN.md step 3).
///
/// The scan is warped onto the level's atlas grid by the candidate transform `T`; the masked
/// NCC of the atlas (weights: the level's mask) and the warped scan (weights: its foreground)
/// is computed for every integer shift `s` in one FFT round trip. The best `s` has
/// `warped(x + s) ≈ atlas(x)`, i.e. `scan(T·(x + L·s)) ≈ atlas(x)` with `L` the grid's
/// voxel-to-world linear part, so the update is `T · translation(L·s)`.
enum TranslationSearch {
    struct Outcome {
        var atlasToScan: Affine
        var score: Double
    }

    /// Largest shift searched, in mm along each axis.
    static let maximumShiftMM = 60.0

    /// The best translation update of `start` on `level` (nil when no shift has enough overlap).
    static func best(level: WorkingLevel, start: Affine, threads: Int) -> Outcome? {
        let grid = level.atlas.grid
        let map = targetVoxelToScanVoxel(target: grid, scan: level.scan.grid, atlasToScan: start)
        let warped = level.sampler.warp(onto: grid, voxelMap: map, threads: threads)
        let movingMask = warped.voxels.map { $0 > Pyramid.foregroundThreshold ? Float(1) : 0 }
        let limit = SIMD3<Int>(repeating: Int((maximumShiftMM / level.spacingMM).rounded(.up)))
        let r = maskedNCC(fixed: level.atlas.voxels, fixedMask: level.mask, fixedDims: grid.dims,
                          moving: warped.voxels, movingMask: movingMask, movingDims: grid.dims,
                          options: MaskedNCCOptions(minimumOverlapFraction: 0.5, maximumShift: limit),
                          threads: threads)
        guard let s = r.bestShift else { return nil }
        let shiftMM = grid.voxelToWorld.linear * SIMD3<Double>(s)
        return Outcome(atlasToScan: start * Affine.translation(shiftMM), score: Double(r.bestNCC))
    }
}
