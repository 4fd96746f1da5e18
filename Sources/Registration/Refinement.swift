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
        var evaluations: Int
        var stopReason: StopReason
        var similarityStart: Double
        var similarityEnd: Double
    }

    /// A score of the scan warped by `atlasToScan` against the atlas on `level` (for searches and
    /// checks): global NCC (`.ncc`), Mattes MI (`.mi`) or windowed NCC (`.lncc`), over the level's
    /// mask (and, with a scan cost-function mask, without what it leaves out).
    static func similarity(level: WorkingLevel, atlasToScan: Affine, threads: Int,
                           kind: SimilarityKind = .ncc) -> Double {
        let warped = warp(level, atlasToScan, threads, for: kind)
        // Without a scan cost-function mask the searches score over the level's whole mask (fast).
        let masked = level.scanMaskSampler != nil
        switch kind {
        case .ncc:
            return (masked ? level.scoringNCC(atlasToScan: atlasToScan, threads: threads).measure : level.ncc).evaluate(warped: warped).value
        case .mi:
            return (masked ? level.scoringMI(atlasToScan: atlasToScan, threads: threads).measure : level.mi).value(warped: warped)
        case .lncc, .ngf, .cr:
            return level.optimising(kind, threads: threads).metric(atlasToScan: atlasToScan, threads: threads).measure
                .evaluate(warped: warped).value
        }
    }

    /// The scan warped onto the level's atlas grid where the measure `kind` looks
    /// (``WorkingLevel/spans(for:)``; 0 elsewhere): the mask for global NCC and MI.
    static func warp(_ level: WorkingLevel, _ atlasToScan: Affine, _ threads: Int, for kind: SimilarityKind = .ncc) -> [Float] {
        let map = targetVoxelToScanVoxel(target: level.atlas.grid, scan: level.scan.grid, atlasToScan: atlasToScan)
        return level.sampler.warp(onto: level.atlas.grid, voxelMap: map, spans: level.spans(for: kind), threads: threads).voxels
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
    /// or `measure` when given (tests hold the covered set fixed with it; it must be of the
    /// level's kind, since the warp samples only where that kind looks: ``WorkingLevel/spans(for:)``).
    static func lossAndGradient(level: WorkingLevel, atlasToScan: Affine, threads: Int,
                                measure: (any PreparedSimilarity)? = nil) -> (Double, [Double]) {
        let r = lossGradientAndCurvature(level: level, atlasToScan: atlasToScan, threads: threads, measure: measure, curvature: false)
        return (r.0, r.1)
    }

    /// ``lossAndGradient(level:atlasToScan:threads:measure:)`` and, with `curvature`, the
    /// Gauss-Newton curvature of the loss over the same 12 entries (12 × 12, row-major), nil
    /// when not asked or when the measure has none (``CurvatureSimilarity``: NCC and windowed
    /// NCC have one, MI has not). The curvature chains as the gradient does: per-voxel terms
    /// from the measure, through the sampler's spatial gradient (``AffineCurvature``), to the
    /// world transform.
    static func lossGradientAndCurvature(level: WorkingLevel, atlasToScan: Affine, threads: Int,
                                         measure: (any PreparedSimilarity)? = nil,
                                         curvature: Bool = true) -> (Double, [Double], [Double]?) {
        let grid = level.atlas.grid
        let map = targetVoxelToScanVoxel(target: grid, scan: level.scan.grid, atlasToScan: atlasToScan)
        precondition(measure.map { ($0 is PreparedLocalNCC) == (level.similarity == .lncc) } ?? true,
                     "a measure of another kind than the level's: the warp's spans would not cover its windows")
        let w = level.sampler.warpWithGradient(onto: grid, voxelMap: map, spans: level.spans(for: level.similarity), threads: threads)
        let metric = measure ?? level.metric(atlasToScan: atlasToScan, threads: threads).measure
        func worldGradient(_ dS: [Float]) -> [Double] {
            TrilinearSampler.affineGradient(dLossdWarped: Volume(grid: grid, voxels: dS.map { -$0 }),
                                            spatialGradient: w.spatialGradient, threads: threads)
                .atlasToScan(target: grid, scan: level.scan.grid).rowMajor3x4
        }
        guard curvature, let curved = metric as? any CurvatureSimilarity else {
            let (s, dS) = metric.evaluate(warped: w.warped.voxels)
            return (-s, worldGradient(dS), nil)
        }
        let (s, dS, c) = curved.evaluateWithCurvature(warped: w.warped.voxels, spatialGradient: w.spatialGradient)
        var h = AffineCurvature(matrix: [Double](repeating: 0, count: 144))
        if let d = c.weights {
            h = AffineCurvature.accumulate(weights: d, spatialGradient: w.spatialGradient, dims: grid.dims, threads: threads)
        }
        if let tensor = c.tensor {
            let t = AffineCurvature.accumulate(tensor: tensor, dims: grid.dims, threads: threads)
            for e in 0..<144 { h.matrix[e] += t.matrix[e] }
        }
        for (v, scale) in c.lowRank {
            let u = TrilinearSampler.affineGradient(dLossdWarped: Volume(grid: grid, voxels: v),
                                                    spatialGradient: w.spatialGradient, threads: threads).rowMajor3x4
            for a in 0..<12 { for b in 0..<12 { h.matrix[a * 12 + b] -= scale * u[a] * u[b] } }
        }
        return (-s, worldGradient(dS), h.atlasToScan(target: grid, scan: level.scan.grid).matrix)
    }

    /// Minimises `−S` on `level` from `start`, at most `iterations` steps (`iterations + 1`
    /// evaluations):
    /// - ``RefinementOptimizer/adam``: ``AdamMinimizer`` (a ``CosineSchedule`` from
    ///   `learningRate` to 10 % of it, every iteration taken);
    /// - ``RefinementOptimizer/secondOrder``: ``LevenbergMarquardt`` on the Gauss-Newton curvature
    ///   where the measure has one (NCC, windowed NCC), ``BFGS`` (first step `learningRate`)
    ///   otherwise (MI); both stop when a step moves no point of the ball of radius `radiusMM`
    ///   by more than `convergenceMM` (``AffineParameters/displacementMM(from:to:)``).
    static func run(level: WorkingLevel, start: Affine, centre: SIMD3<Double>, radiusMM: Double,
                    model: TransformModel, iterations: Int, learningRate: Double,
                    optimizer: RefinementOptimizer = .adam, convergenceMM: Double = 0.01, threads: Int) -> Outcome {
        let params = AffineParameters(start: start, centre: centre, radiusMM: radiusMM, model: model)
        let stopping = StoppingRule(maxEvaluations: max(1, iterations + 1), tolerance: convergenceMM) {
            params.displacementMM(from: $0, to: $1)
        }
        let zero = [Double](repeating: 0, count: params.freeCount)
        let result: Minimization
        switch optimizer {
        case .adam:
            result = AdamMinimizer(learningRate: learningRate).minimize(from: zero, stopping: stopping) { theta, _ in
                let (loss, dT) = lossAndGradient(level: level, atlasToScan: params.transform(theta), threads: threads)
                return Evaluation(loss: loss, gradient: params.chain(dT, at: theta))
            }
        case .secondOrder:
            let minimizer: any Minimizer = level.metric is any CurvatureSimilarity ? LevenbergMarquardt() : BFGS(initialStep: learningRate)
            result = minimizer.minimize(from: zero, stopping: stopping) { theta, wantsCurvature in
                let (loss, dT, hT) = lossGradientAndCurvature(level: level, atlasToScan: params.transform(theta), threads: threads,
                                                              curvature: wantsCurvature)
                let m = params.jacobian(at: theta)
                let g = m.map { column in zip(column, dT).reduce(0) { $0 + $1.0 * $1.1 } }
                let h = hT.map { hT in
                    m.flatMap { ca in m.map { cb in
                        var s = 0.0
                        for a in 0..<12 { for b in 0..<12 { s += ca[a] * hT[a * 12 + b] * cb[b] } }
                        return s
                    } }
                }
                return Evaluation(loss: loss, gradient: g, curvature: h)
            }
        }
        return Outcome(atlasToScan: params.transform(result.parameters), iterations: result.iterations,
                       evaluations: result.evaluations, stopReason: result.stopReason,
                       similarityStart: -result.startLoss, similarityEnd: -result.loss)
    }
}

/// How refinement minimises (protocol key `optimizer`).
public enum RefinementOptimizer: String, Sendable, Codable, CaseIterable {
    /// Adam with a cosine schedule, a fixed number of iterations per level.
    case adam
    /// Levenberg-Marquardt (NCC, windowed NCC) or BFGS (MI), each level to convergence.
    case secondOrder = "second-order"
}
