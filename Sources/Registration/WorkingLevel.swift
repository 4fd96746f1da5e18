import Sampling
import Similarity
import VolumeCore

/// Atlas and scan prepared for one resolution: normalised intensities on isotropic grids.
///
/// The atlas is resampled onto an isotropic grid covering its foreground (cropped with a
/// margin), the scan onto an isotropic grid covering its own field of view; the scan stays in
/// its own space and is read through `atlasToScan` at every evaluation.
struct WorkingLevel: Sendable {
    let spacingMM: Double
    /// Normalised atlas on the level's atlas grid.
    let atlas: Volume
    /// Weights of the similarity: 1 inside the atlas foreground (dilated), 0 outside.
    let mask: [Float]
    /// Normalised scan on its own isotropic grid.
    let scan: Volume
    let sampler: TrilinearSampler
    /// The similarity refinement optimises on this level, atlas side precomputed.
    let metric: any PreparedSimilarity
    /// Global NCC over the mask: scores searches and quality checks on every level alike.
    let ncc: PreparedGlobalNCC

    init(spacingMM: Double, atlas: Volume, mask: [Float], scan: Volume,
         similarity: SimilarityKind = .ncc, lnccRadius: Int = 2, threads: Int = 1) {
        self.spacingMM = spacingMM
        self.atlas = atlas
        self.mask = mask
        self.scan = scan
        self.sampler = TrilinearSampler(scan)
        ncc = GlobalNCC(threads: threads).prepare(atlas: atlas, mask: mask)
        switch similarity {
        case .ncc: metric = ncc
        case .lncc: metric = LocalNCC(radius: lnccRadius, threads: threads).prepare(atlas: atlas, mask: mask)
        }
    }
}

/// Builds working levels from the normalised full-resolution images, each level from the
/// next finer one (blur + resample; see `smoothAndResample`).
struct Pyramid {
    /// Foreground threshold on normalised intensities (0…1).
    static let foregroundThreshold: Float = 0.05

    private(set) var levels: [Double: WorkingLevel] = [:]

    /// `similarity(spacing)` names the measure refinement optimises at each spacing.
    init(atlas: Volume, scan: Volume, spacings: [Double], similarity: (Double) -> SimilarityKind, lnccRadius: Int, threads: Int) {
        var atlasPrev = atlas, scanPrev = scan
        // The atlas foreground box (mm) from the full-resolution atlas, with a margin.
        let box = Pyramid.foregroundBox(atlas)
        for s in Set(spacings).sorted() {
            let ag = Pyramid.croppedIsotropicGrid(atlas.grid, box: box, spacingMM: s)
            let sg = scan.grid.isotropicCovering(spacingMM: s)
            let a = smoothAndResample(atlasPrev, onto: ag, threads: threads)
            let sc = smoothAndResample(scanPrev, onto: sg, threads: threads)
            let mask = ImagePreparation.mask(a, threshold: Pyramid.foregroundThreshold, dilation: 1)
            levels[s] = WorkingLevel(spacingMM: s, atlas: a, mask: mask, scan: sc,
                                     similarity: similarity(s), lnccRadius: lnccRadius, threads: threads)
            atlasPrev = a
            scanPrev = sc
        }
    }

    subscript(spacing: Double) -> WorkingLevel { levels[spacing]! }

    /// World bounding box (mm) of the atlas foreground, grown by 10 mm.
    static func foregroundBox(_ v: Volume) -> (min: SIMD3<Double>, max: SIMD3<Double>) {
        ImagePreparation.foregroundBox(v, threshold: foregroundThreshold, marginMM: 10)
    }

    /// An isotropic RAS grid over the intersection of `grid`'s box and `box`.
    static func croppedIsotropicGrid(_ grid: Grid, box: (min: SIMD3<Double>, max: SIMD3<Double>), spacingMM s: Double) -> Grid {
        let full = grid.worldBoundingBox
        let lo = pointwiseMax(full.min, box.min), hi = pointwiseMin(full.max, box.max)
        let extent = pointwiseMax(hi - lo, .zero)
        let n = SIMD3<Int>(Int((extent.x / s).rounded(.down)) + 1,
                           Int((extent.y / s).rounded(.down)) + 1,
                           Int((extent.z / s).rounded(.down)) + 1)
        let centre = (lo + hi) / 2
        return Grid(dims: n, spacingMM: SIMD3(repeating: s), origin: centre - SIMD3<Double>(n &- 1) * s / 2)
    }
}
