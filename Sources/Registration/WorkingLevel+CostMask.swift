import Sampling
import Similarity
import VolumeCore

extension WorkingLevel {
    /// The weights every similarity uses for `atlasToScan`, and the field-of-view coverage:
    /// the level's mask (the atlas foreground × the atlas cost-function mask), restricted to the
    /// scan's field of view when the scan covers at least ``minimumCoverage`` of it but not all
    /// (``coveredMask(atlasToScan:marginMM:)``), and without the atlas voxels that `atlasToScan`
    /// maps outside the scan's cost-function mask (read trilinearly, kept where ≥ 0.5; outside
    /// the scan it reads 0). Nil when that is the level's own mask, so the prepared measures apply.
    /// The weights are held fixed within one evaluation (their change with the transform is not
    /// differentiated), as for the field of view.
    func costMask(atlasToScan: Affine, threads: Int) -> (mask: [Float]?, coverage: Double) {
        let (covered, coverage) = coveredMask(atlasToScan: atlasToScan)
        var m = covered.flatMap { coverage >= WorkingLevel.minimumCoverage ? $0 : nil }
        if let sampler = scanMaskSampler {
            let map = targetVoxelToScanVoxel(target: atlas.grid, scan: scan.grid, atlasToScan: atlasToScan)
            let inside = sampler.warp(onto: atlas.grid, voxelMap: map, threads: threads).voxels
            var w = m ?? mask
            for n in w.indices where inside[n] < 0.5 { w[n] = 0 }
            m = w
        }
        return (m, coverage)
    }

    /// Global NCC for `atlasToScan` over ``costMask(atlasToScan:threads:)`` (the prepared one
    /// when that is the level's mask), and the field-of-view coverage.
    func scoringNCC(atlasToScan: Affine, threads: Int) -> (measure: PreparedGlobalNCC, coverage: Double) {
        let (m, coverage) = costMask(atlasToScan: atlasToScan, threads: threads)
        return (m.map { GlobalNCC(threads: threads).prepare(atlas: atlas, mask: $0) } ?? ncc, coverage)
    }

    /// Mattes MI for `atlasToScan` over ``costMask(atlasToScan:threads:)``, as ``scoringNCC(atlasToScan:threads:)``.
    func scoringMI(atlasToScan: Affine, threads: Int) -> (measure: PreparedMattesMI, coverage: Double) {
        let (m, coverage) = costMask(atlasToScan: atlasToScan, threads: threads)
        return (m.map { MattesMI(bins: WorkingLevel.mutualInformationBins, threads: threads).prepare(atlas: atlas, mask: $0) } ?? mi, coverage)
    }
}
