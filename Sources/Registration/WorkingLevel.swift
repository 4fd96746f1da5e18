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
    private(set) var metric: any PreparedSimilarity
    /// Global NCC over the mask: scores same-contrast searches and checks on every level alike.
    let ncc: PreparedGlobalNCC
    /// Mattes MI over the mask: scores cross-contrast searches and the normalised-MI check.
    let mi: PreparedMattesMI
    private(set) var similarity: SimilarityKind
    let lnccRadius: Int
    /// The scan's own grid (before resampling): the field of view the scan images.
    let scanFieldOfView: Grid
    /// Per atlas row `j + ny·k`, the first and last `i` of non-zero mask: where global NCC and
    /// MI look (the warps sample only there).
    let maskSpans: RowSpans
    /// ``maskSpans`` grown by the window radius: every voxel a window about a mask voxel reads
    /// (where the warps for windowed NCC sample).
    let windowSpans: RowSpans
    /// ``maskSpans`` grown by one voxel: the neighbours normalised gradient fields differentiate over.
    let neighbourSpans: RowSpans
    let maskWeight: Double
    /// The scan's cost-function mask on the level's scan grid (values in [0, 1]; nil = none),
    /// read through `atlasToScan` like the scan (see ``costMask(atlasToScan:threads:)``).
    let scanMaskSampler: TrilinearSampler?

    init(spacingMM: Double, atlas: Volume, mask: [Float], scan: Volume, scanFieldOfView: Grid? = nil,
         similarity: SimilarityKind = .ncc, lnccRadius: Int = 2, threads: Int = 1, scanMask: Volume? = nil) {
        self.init(spacingMM: spacingMM, atlas: atlas, mask: mask, scan: scan, scanFieldOfView: scanFieldOfView,
                  similarity: similarity, lnccRadius: lnccRadius, threads: threads,
                  scanMaskSampler: scanMask.map(TrilinearSampler.init))
    }

    private init(spacingMM: Double, atlas: Volume, mask: [Float], scan: Volume, scanFieldOfView: Grid?,
                 similarity: SimilarityKind, lnccRadius: Int, threads: Int, scanMaskSampler: TrilinearSampler?) {
        self.scanMaskSampler = scanMaskSampler
        self.spacingMM = spacingMM
        self.atlas = atlas
        self.mask = mask
        self.scan = scan
        self.sampler = TrilinearSampler(scan)
        self.similarity = similarity
        self.lnccRadius = lnccRadius
        self.scanFieldOfView = scanFieldOfView ?? scan.grid
        ncc = GlobalNCC(threads: threads).prepare(atlas: atlas, mask: mask)
        mi = MattesMI(bins: WorkingLevel.mutualInformationBins, threads: threads).prepare(atlas: atlas, mask: mask)
        metric = WorkingLevel.prepared(similarity, atlas: atlas, mask: mask, ncc: ncc, mi: mi, lnccRadius: lnccRadius, threads: threads)
        maskSpans = RowSpans(mask: mask, dims: atlas.dims)
        windowSpans = maskSpans.grown(by: lnccRadius)
        neighbourSpans = maskSpans.grown(by: 1)
        maskWeight = mask.reduce(0.0) { $0 + Double($1) }
    }

    /// How far (voxels of this level) the measure `kind` reads around a mask voxel: the window
    /// radius of windowed NCC, the central differences' one voxel of normalised gradient fields,
    /// none for the pointwise measures.
    func readRadius(_ kind: SimilarityKind) -> Int {
        switch kind {
        case .lncc: lnccRadius
        case .ngf: 1
        case .ncc, .mi, .cr: 0
        }
    }

    /// Where a warp must sample for the measure `kind` (the mask grown by ``readRadius(_:)``:
    /// ``maskSpans``, ``windowSpans`` or ``neighbourSpans``).
    func spans(for kind: SimilarityKind) -> RowSpans {
        switch kind {
        case .lncc: windowSpans
        case .ngf: neighbourSpans
        case .ncc, .mi, .cr: maskSpans
        }
    }

    /// The measure `kind` over the whole mask, atlas side precomputed (NCC and MI are prepared
    /// once per level; windowed NCC is prepared here).
    static func prepared(_ kind: SimilarityKind, atlas: Volume, mask: [Float], ncc: PreparedGlobalNCC, mi: PreparedMattesMI,
                         lnccRadius: Int, threads: Int) -> any PreparedSimilarity {
        switch kind {
        case .ncc: return ncc
        case .mi: return mi
        case .lncc: return LocalNCC(radius: lnccRadius, threads: threads).prepare(atlas: atlas, mask: mask)
        case .ngf: return NormalisedGradientFields(threads: threads).prepare(atlas: atlas, mask: mask)
        case .cr: return CorrelationRatio(bins: correlationRatioBins, threads: threads).prepare(atlas: atlas, mask: mask)
        }
    }

    /// The same level (scan, measure, scan-side cost mask) against another atlas image and mask
    /// on a grid of its own (``HeadShell``).
    func replacingAtlas(_ atlas: Volume, mask: [Float], threads: Int) -> WorkingLevel {
        WorkingLevel(spacingMM: spacingMM, atlas: atlas, mask: mask, scan: scan, scanFieldOfView: scanFieldOfView,
                     similarity: similarity, lnccRadius: lnccRadius, threads: threads, scanMaskSampler: scanMaskSampler)
    }

    /// The same level optimising `kind` (e.g. MI for a scan of another contrast than the atlas).
    func optimising(_ kind: SimilarityKind, threads: Int) -> WorkingLevel {
        guard kind != similarity else { return self }
        var l = self
        l.similarity = kind
        l.metric = WorkingLevel.prepared(kind, atlas: atlas, mask: mask, ncc: ncc, mi: mi, lnccRadius: lnccRadius, threads: threads)
        return l
    }

    /// Fraction of the mask's weight that must lie inside the scan's field of view (with the
    /// margin) for the similarity to be restricted to it; below it the overlap is too small to
    /// trust and the whole mask is used (elastix refuses fewer than 25 % valid samples). It was
    /// 0.3: nibabel's EPI slab (24 slices of 2.2 mm) covers 0.29 of FSL's MNI152 head mask at
    /// ANTs' placement, so there every measure counted the unseen 71 % as zeros and the
    /// optimiser squeezed the atlas head into the slab (scale 0.82 / 0.85 / 0.67, 29.4 mm from
    /// ANTs, unflagged: `Tests/Scripts/epi_example.py --atlas`); at 0.1 it ends 7.9 mm from
    /// ANTs, unflagged, and the other real scans and
    /// partial-field-of-view cases measured gave bit-identical results (README, "Scans that
    /// image only part of the brain").
    static let minimumCoverage = 0.1

    /// Histogram bins of Mattes MI (ITK's and elastix's usual 32).
    static let mutualInformationBins = 32

    /// Atlas bins of the correlation ratio (as the contrast probe's η).
    static let correlationRatioBins = 32

    /// The similarity to optimise for the transform `atlasToScan`: the prepared measure when the
    /// scan's field of view covers the whole mask (the usual case: bit-identical to no check), or
    /// the same measure over the covered part of the mask when the scan shows only part of what
    /// the atlas mask holds (a cut-off top of the head, a slab). Outside its field of view a scan
    /// reads as zero; counting those voxels would pull the scan to cover the whole mask. "Covered"
    /// keeps a margin of the window radius + 1 voxel of this level inside the field of view, so
    /// no window sees the edge. Like ITK's metrics, which count only points inside the moving image.
    /// With a scan cost-function mask, the atlas voxels mapped outside it are left out too.
    func metric(atlasToScan: Affine, threads: Int) -> (measure: any PreparedSimilarity, coverage: Double) {
        let (costMask, coverage) = costMask(atlasToScan: atlasToScan, threads: threads)
        guard let covered = costMask else { return (metric, coverage) }
        switch similarity {
        case .ncc: return (GlobalNCC(threads: threads).prepare(atlas: atlas, mask: covered), coverage)
        case .mi: return (MattesMI(bins: WorkingLevel.mutualInformationBins, threads: threads).prepare(atlas: atlas, mask: covered), coverage)
        case .lncc:
            // The atlas window sums do not depend on the mask: only the weights change.
            let prepared = (metric as? PreparedLocalNCC)?.reweighted(mask: covered)
            return (prepared ?? LocalNCC(radius: lnccRadius, threads: threads).prepare(atlas: atlas, mask: covered), coverage)
        case .ngf: return (NormalisedGradientFields(threads: threads).prepare(atlas: atlas, mask: covered), coverage)
        case .cr: return (CorrelationRatio(bins: WorkingLevel.correlationRatioBins, threads: threads).prepare(atlas: atlas, mask: covered), coverage)
        }
    }

    /// The mask restricted to the atlas voxels that `atlasToScan` maps inside the scan's field of
    /// view (with the margin of ``metric(atlasToScan:threads:)``), and the fraction of the mask's
    /// weight kept; `nil` and 1 when the field of view covers the whole mask. Per atlas row the
    /// covered voxels are an interval (an affine line through a box), found without visiting them.
    /// `marginMM` overrides that margin (0: the field of view itself).
    func coveredMask(atlasToScan: Affine, marginMM: Double? = nil) -> (mask: [Float]?, coverage: Double) {
        let fov = scanFieldOfView
        let map = fov.worldToVoxel * atlasToScan * atlas.grid.voxelToWorld
        let margin = marginMM ?? Double(readRadius(similarity) + 1) * spacingMM
        let fovSpacing = fov.spacingMM
        let dims = fov.dims
        // Valid p (original scan voxels): −½ + m_d ≤ p_d ≤ n_d − ½ − m_d.
        var lower = SIMD3<Double>.zero, upper = SIMD3<Double>.zero
        for d in 0..<3 {
            let m = margin / fovSpacing[d]
            lower[d] = -0.5 + m
            upper[d] = Double(dims[d]) - 0.5 - m
        }
        let n = atlas.dims
        let step = map.linear * SIMD3<Double>(1, 0, 0)
        /// The valid i of row (j, k) as a closed interval (empty when lo > hi).
        func validSpan(_ j: Int, _ k: Int) -> (Int, Int) {
            let p0 = map.apply(SIMD3(0, Double(j), Double(k)))
            var a = -Double.infinity, b = Double.infinity
            for d in 0..<3 {
                if step[d] == 0 {
                    if p0[d] < lower[d] || p0[d] > upper[d] { return (1, 0) }
                } else {
                    let t1 = (lower[d] - p0[d]) / step[d], t2 = (upper[d] - p0[d]) / step[d]
                    a = max(a, min(t1, t2)); b = min(b, max(t1, t2))
                }
            }
            // (A non-finite transform leaves a, b at ∓∞ — Swift's min/max skip NaN here — so every
            // row counts as covered and the prepared measure is used; such transforms are
            // flagged invalidTransform by the check.)
            guard a <= b else { return (1, 0) }
            let lo = a == -.infinity ? 0 : Int(max(0, min(Double(n.x), a.rounded(.up))))
            let hi = b == .infinity ? n.x - 1 : Int(max(-1, min(Double(n.x - 1), b.rounded(.down))))
            return (lo, hi)
        }
        var spans: [(Int, Int)] = []
        spans.reserveCapacity(n.y * n.z)
        var covered = true
        for r in 0..<(n.y * n.z) {
            let s = validSpan(r % n.y, r / n.y)
            spans.append(s)
            let m = maskSpans.range(r)
            if !m.isEmpty && (s.0 > m.lowerBound || s.1 < m.upperBound - 1) { covered = false }
        }
        if covered { return (nil, 1) }
        var restricted = [Float](repeating: 0, count: mask.count)
        var weight = 0.0
        for r in 0..<(n.y * n.z) {
            let (lo, hi) = spans[r]
            let m = maskSpans.range(r)
            guard !m.isEmpty else { continue }
            let a = max(lo, m.lowerBound), b = min(hi, m.upperBound - 1)
            guard a <= b else { continue }
            for i in a...b {
                restricted[i + n.x * r] = mask[i + n.x * r]
                weight += Double(mask[i + n.x * r])
            }
        }
        return (restricted, maskWeight > 0 ? weight / maskWeight : 0)
    }
}

/// Builds working levels from the normalised full-resolution images, each level from the
/// next finer one (blur + resample; see `smoothAndResample`).
struct Pyramid {
    /// Foreground threshold on normalised intensities (0…1).
    static let foregroundThreshold: Float = 0.05

    private(set) var levels: [Double: WorkingLevel] = [:]

    /// `similarity(spacing)` names the measure refinement optimises at each spacing.
    /// `atlasMask` and `scanMask` (0/1 on the images' own grids) are the cost-function masks:
    /// the atlas's is resampled onto each level (trilinear, kept where ≥ 0.5) and multiplies the
    /// level's mask; the scan's is resampled onto each level's scan grid and read per transform.
    init(atlas: Volume, scan: Volume, spacings: [Double], similarity: (Double) -> SimilarityKind, lnccRadius: Int, threads: Int,
         atlasMask: Volume? = nil, scanMask: Volume? = nil) {
        var atlasPrev = atlas, scanPrev = scan
        // The atlas foreground box (mm) from the full-resolution atlas, with a margin.
        let box = Pyramid.foregroundBox(atlas, threads: threads)
        for s in Set(spacings).sorted() {
            let ag = Pyramid.croppedIsotropicGrid(atlas.grid, box: box, spacingMM: s)
            let sg = scan.grid.isotropicCovering(spacingMM: s)
            let a = smoothAndResample(atlasPrev, onto: ag, threads: threads)
            let sc = smoothAndResample(scanPrev, onto: sg, threads: threads)
            var mask = ImagePreparation.mask(a, threshold: Pyramid.foregroundThreshold, dilation: 1, threads: threads)
            if let atlasMask {
                let m = resample(atlasMask, onto: ag, atlasToScan: .identity, threads: threads).voxels
                for n in mask.indices where m[n] < 0.5 { mask[n] = 0 }
            }
            let scanMaskHere = scanMask.map { resample($0, onto: sg, atlasToScan: .identity, threads: threads) }
            levels[s] = WorkingLevel(spacingMM: s, atlas: a, mask: mask, scan: sc, scanFieldOfView: scan.grid,
                                     similarity: similarity(s), lnccRadius: lnccRadius, threads: threads, scanMask: scanMaskHere)
            atlasPrev = a
            scanPrev = sc
        }
    }

    subscript(spacing: Double) -> WorkingLevel { levels[spacing]! }

    /// Every level optimising `kind` (the cross-contrast path).
    func optimising(_ kind: SimilarityKind, threads: Int) -> Pyramid {
        var p = self
        p.levels = levels.mapValues { $0.optimising(kind, threads: threads) }
        return p
    }

    /// The pyramid with the level at `spacing` replaced (``HeadShell``).
    func replacing(_ spacing: Double, with level: WorkingLevel) -> Pyramid {
        var p = self
        p.levels[spacing] = level
        return p
    }

    /// World bounding box (mm) of the atlas foreground, grown by 10 mm.
    static func foregroundBox(_ v: Volume, threads: Int = 1) -> (min: SIMD3<Double>, max: SIMD3<Double>) {
        ImagePreparation.foregroundBox(v, threshold: foregroundThreshold, marginMM: 10, threads: threads)
    }

    /// An isotropic RAS grid over the intersection of `grid`'s box and `box`.
    static func croppedIsotropicGrid(_ grid: Grid, box: (min: SIMD3<Double>, max: SIMD3<Double>), spacingMM s: Double) -> Grid {
        let full = grid.worldBoundingBox
        return isotropicGrid(box: (pointwiseMax(full.min, box.min), pointwiseMin(full.max, box.max)), spacingMM: s)
    }

    /// An isotropic RAS grid of spacing `s` centred on `box`, its voxel centres spanning it to within a voxel.
    static func isotropicGrid(box: (min: SIMD3<Double>, max: SIMD3<Double>), spacingMM s: Double) -> Grid {
        let lo = box.min, hi = box.max
        let extent = pointwiseMax(hi - lo, .zero)
        let n = SIMD3<Int>(Int((extent.x / s).rounded(.down)) + 1,
                           Int((extent.y / s).rounded(.down)) + 1,
                           Int((extent.z / s).rounded(.down)) + 1)
        let centre = (lo + hi) / 2
        return Grid(dims: n, spacingMM: SIMD3(repeating: s), origin: centre - SIMD3<Double>(n &- 1) * s / 2)
    }
}
