import Foundation
import Optimization
import Sampling
import Similarity
import VolumeCore

/// Instance optimisation of the transform on one working level (DESIGN.md step 5).
///
/// Minimises `L = −S(warped, atlas)` over the free parameters of ``AffineParameters`` with Adam
/// (β₁ = 0.9, β₂ = 0.999) and a cosine-decayed step (from `learningRate` to 10 % of it), using
/// analytic gradients: `∂S/∂warped` from the similarity, through the trilinear sampler to the
/// voxel map, to `atlasToScan`, to the parameters. The best iterate seen is returned, so a level
/// never makes the result worse than its start. When the scan's field of view does not cover the
/// atlas mask, `S` counts only the covered part (see ``WorkingLevel/metric(atlasToScan:threads:)``);
/// the covered set follows the transform, so iterates are then compared over slightly different sets.
enum Refinement {
    struct Outcome {
        var atlasToScan: Affine
        var iterations: Int
        var similarityStart: Double
        var similarityEnd: Double
    }

    /// A score of the scan warped by `atlasToScan` against the atlas on `level` (for searches and
    /// checks): global NCC (`.ncc`), Mattes MI (`.mi`) or windowed NCC (`.lncc`), over the level's
    /// mask (and, with a scan cost-function mask, without what it leaves out).
    static func similarity(level: WorkingLevel, atlasToScan: Affine, threads: Int,
                           kind: SimilarityKind = .ncc) -> Double {
        let warped = warp(level, atlasToScan, threads)
        // Without a scan cost-function mask the searches score over the level's whole mask (fast).
        let masked = level.scanMaskSampler != nil
        switch kind {
        case .ncc:
            return (masked ? level.scoringNCC(atlasToScan: atlasToScan, threads: threads).measure : level.ncc).evaluate(warped: warped).value
        case .mi:
            return (masked ? level.scoringMI(atlasToScan: atlasToScan, threads: threads).measure : level.mi).value(warped: warped)
        case .lncc:
            return level.optimising(.lncc, threads: threads).metric(atlasToScan: atlasToScan, threads: threads).measure
                .evaluate(warped: warped).value
        }
    }

    static func warp(_ level: WorkingLevel, _ atlasToScan: Affine, _ threads: Int) -> [Float] {
        let map = targetVoxelToScanVoxel(target: level.atlas.grid, scan: level.scan.grid, atlasToScan: atlasToScan)
        return level.sampler.warp(onto: level.atlas.grid, voxelMap: map, threads: threads).voxels
    }

    /// The quality check's similarity of the result (``CheckMeasure``: global NCC or normalised
    /// MI) over ``WorkingLevel/costMask(atlasToScan:threads:)`` (the field of view and the
    /// cost-function masks, as refinement optimised it), and the field-of-view coverage.
    static func checkedSimilarity(level: WorkingLevel, atlasToScan: Affine, measure: CheckMeasure,
                                  threads: Int) -> (value: Double, coverage: Double) {
        let warped = warp(level, atlasToScan, threads)
        switch measure {
        case .ncc:
            let m = level.scoringNCC(atlasToScan: atlasToScan, threads: threads)
            return (m.measure.evaluate(warped: warped).value, m.coverage)
        case .nmi:
            let m = level.scoringMI(atlasToScan: atlasToScan, threads: threads)
            return (m.measure.normalised(warped: warped), m.coverage)
        }
    }

    /// Loss `−S` and its gradient with respect to the 12 entries of `atlasToScan`
    /// (in ``Affine/rowMajor3x4`` order). `S` is the level's measure over the part of
    /// its mask inside the scan's field of view (``WorkingLevel/metric(atlasToScan:threads:)``),
    /// or `measure` when given (tests hold the covered set fixed with it).
    static func lossAndGradient(level: WorkingLevel, atlasToScan: Affine, threads: Int,
                                measure: (any PreparedSimilarity)? = nil) -> (Double, [Double]) {
        let grid = level.atlas.grid
        let map = targetVoxelToScanVoxel(target: grid, scan: level.scan.grid, atlasToScan: atlasToScan)
        let w = level.sampler.warpWithGradient(onto: grid, voxelMap: map, threads: threads)
        let metric = measure ?? level.metric(atlasToScan: atlasToScan, threads: threads).measure
        let (s, dS) = metric.evaluate(warped: w.warped.voxels)
        let dL = Volume(grid: grid, voxels: dS.map { -$0 })
        let g = TrilinearSampler.affineGradient(dLossdWarped: dL, spatialGradient: w.spatialGradient, threads: threads)
            .atlasToScan(target: grid, scan: level.scan.grid)
        return (-s, g.rowMajor3x4)
    }

    /// Minimises `−S` on `level` from `start` with ``AdamW`` (no decay, no clipping: plain Adam)
    /// and a ``CosineSchedule`` from `learningRate` to 10 % of it over `iterations` steps.
    static func run(level: WorkingLevel, start: Affine, centre: SIMD3<Double>, radiusMM: Double,
                    model: TransformModel, iterations: Int, learningRate: Double, threads: Int) -> Outcome {
        let params = AffineParameters(start: start, centre: centre, radiusMM: radiusMM, model: model)
        var theta = [[Double](repeating: 0, count: params.freeCount)]
        var adam = AdamW<Double>(learningRate: learningRate, weightDecay: 0, clipNorm: nil)
        let schedule = CosineSchedule(base: learningRate)
        var best = start
        var bestLoss = Double.infinity
        var startLoss = Double.nan
        var done = 0
        for it in 0..<max(1, iterations + 1) {
            let t = params.transform(theta[0])
            let (loss, dT) = lossAndGradient(level: level, atlasToScan: t, threads: threads)
            if it == 0 { startLoss = loss }
            if loss.isFinite && loss < bestLoss { bestLoss = loss; best = t }
            if it == iterations { break }
            let g = params.chain(dT, at: theta[0])
            guard g.allSatisfy(\.isFinite) else { break }
            adam.learningRate = schedule.rate(step: it, of: iterations)
            adam.update(&theta, gradients: [g], decays: [false])
            done += 1
        }
        return Outcome(atlasToScan: best, iterations: done, similarityStart: -startLoss, similarityEnd: -bestLoss)
    }
}
