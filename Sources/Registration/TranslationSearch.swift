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
    /// With `.gradientMagnitude` both images are replaced by their gradient magnitudes
    /// (central differences per mm, ``gradientMagnitude(_:)``) before the correlation; the masks
    /// stay the intensity-based ones.
    static func best(level: WorkingLevel, start: Affine, features: TranslationSearchFeatures = .intensity,
                     scoredBy kind: SimilarityKind = .ncc, threads: Int) -> Outcome? {
        Prepared(level: level, features: features, threads: threads).best(start: start, scoredBy: kind, threads: threads)
    }

    /// The atlas side of the search on one level, transformed once for every start searched
    /// from (the rotation search's candidates): per feature, the masked-NCC search of the
    /// level's atlas (or its gradient magnitude) with its mask, over shifts up to
    /// ``maximumShiftMM`` (FFTs of the atlas grid plus that window, not twice the grid).
    struct Prepared {
        let level: WorkingLevel
        let features: TranslationSearchFeatures
        /// The largest shift searched per axis, in voxels of the level (``maximumShiftMM``).
        let window: SIMD3<Int>
        let searches: [(features: TranslationSearchFeatures, search: MaskedNCCSearch)]

        init(level: WorkingLevel, features: TranslationSearchFeatures, threads: Int) {
            self.level = level
            self.features = features
            let grid = level.atlas.grid
            let window = SIMD3<Int>(repeating: Int((maximumShiftMM / level.spacingMM).rounded(.up)))
            self.window = window
            let kinds: [TranslationSearchFeatures] = features == .both ? [.intensity, .gradientMagnitude] : [features]
            searches = kinds.map { f in
                let fixed = f == .intensity ? level.atlas.voxels : gradientMagnitude(level.atlas)
                return (f, MaskedNCCSearch(fixed: fixed, fixedMask: level.mask, fixedDims: grid.dims, movingDims: grid.dims,
                                           shiftWindow: window, threads: threads))
            }
        }

        /// The best translation update of `start` (nil when no shift has enough overlap); with
        /// `.both`, the intensity and gradient-magnitude searches' results compete on `kind`.
        func best(start: Affine, scoredBy kind: SimilarityKind, threads: Int) -> Outcome? {
            guard features == .both else { return single(searches[0], start: start, threads: threads) }
            let candidates = searches.compactMap { single($0, start: start, threads: threads) }
            // Ties (and equal shifts) keep the intensity search's, the first.
            var winner: Outcome?, winnerScore = -Double.infinity
            for c in candidates {
                let score = Refinement.similarity(level: level, atlasToScan: c.atlasToScan, threads: threads, kind: kind)
                if score > winnerScore { winner = Outcome(atlasToScan: c.atlasToScan, score: score); winnerScore = score }
            }
            return winner
        }

        /// One search on intensities or on gradient magnitudes.
        private func single(_ s: (features: TranslationSearchFeatures, search: MaskedNCCSearch), start: Affine, threads: Int) -> Outcome? {
            let grid = level.atlas.grid
            let map = targetVoxelToScanVoxel(target: grid, scan: level.scan.grid, atlasToScan: start)
            let warped = level.sampler.warp(onto: grid, voxelMap: map, threads: threads)
            var movingMask = warped.voxels.map { $0 > Pyramid.foregroundThreshold ? Float(1) : 0 }
            if let sampler = level.scanMaskSampler {   // the scan's cost-function mask moves with the scan
                let inside = sampler.warp(onto: grid, voxelMap: map, threads: threads).voxels
                for n in movingMask.indices where inside[n] < 0.5 { movingMask[n] = 0 }
            }
            let moving = s.features == .intensity ? warped.voxels : gradientMagnitude(warped)
            let r = s.search.search(moving: moving, movingMask: movingMask,
                                    options: MaskedNCCOptions(minimumOverlapFraction: 0.5, maximumShift: window), threads: threads)
            guard let shift = r.bestShift else { return nil }
            let shiftMM = grid.voxelToWorld.linear * SIMD3<Double>(shift)
            return Outcome(atlasToScan: start * Affine.translation(shiftMM), score: Double(r.bestNCC))
        }
    }

    /// |∇v| by central differences (one-sided at the edges), per voxel.
    static func gradientMagnitude(_ v: Volume) -> [Float] {
        let n = v.dims
        var out = [Float](repeating: 0, count: v.voxels.count)
        let x = v.voxels
        for k in 0..<n.z {
            for j in 0..<n.y {
                for i in 0..<n.x {
                    func d(_ a: Int, _ b: Int, _ steps: Int) -> Float { (x[a] - x[b]) / Float(steps) }
                    let c = i + n.x * (j + n.y * k)
                    let i0 = max(0, i - 1), i1 = min(n.x - 1, i + 1)
                    let j0 = max(0, j - 1), j1 = min(n.y - 1, j + 1)
                    let k0 = max(0, k - 1), k1 = min(n.z - 1, k + 1)
                    let gx = i1 > i0 ? d(i1 + n.x * (j + n.y * k), i0 + n.x * (j + n.y * k), i1 - i0) : 0
                    let gy = j1 > j0 ? d(i + n.x * (j1 + n.y * k), i + n.x * (j0 + n.y * k), j1 - j0) : 0
                    let gz = k1 > k0 ? d(i + n.x * (j + n.y * k1), i + n.x * (j + n.y * k0), k1 - k0) : 0
                    out[c] = (gx * gx + gy * gy + gz * gz).squareRoot()
                }
            }
        }
        return out
    }
}
