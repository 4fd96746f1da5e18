import Foundation
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

    /// Global NCC of the scan warped by `atlasToScan` with the atlas on `level` (for searches and
    /// checks), over the level's mask or over `measure`'s.
    static func similarity(level: WorkingLevel, atlasToScan: Affine, threads: Int,
                           measure: PreparedGlobalNCC? = nil) -> Double {
        let map = targetVoxelToScanVoxel(target: level.atlas.grid, scan: level.scan.grid, atlasToScan: atlasToScan)
        let warped = level.sampler.warp(onto: level.atlas.grid, voxelMap: map, threads: threads)
        return (measure ?? level.ncc).evaluate(warped: warped.voxels).value
    }

    /// Global NCC of the result for the quality check, over the part of the mask inside the
    /// scan's field of view (as refinement optimised it; the whole mask when the scan covers it
    /// or covers less than ``WorkingLevel/minimumCoverage``), and that coverage.
    static func checkedSimilarity(level: WorkingLevel, atlasToScan: Affine, threads: Int) -> (value: Double, coverage: Double) {
        let (covered, coverage) = level.coveredMask(atlasToScan: atlasToScan)
        let measure = covered.flatMap { coverage >= WorkingLevel.minimumCoverage ? GlobalNCC(threads: threads).prepare(atlas: level.atlas, mask: $0) : nil }
        return (similarity(level: level, atlasToScan: atlasToScan, threads: threads, measure: measure), coverage)
    }

    /// Loss `−S` and its gradient with respect to the 12 entries of `atlasToScan`
    /// (order of ``AffineParameters/entries(_:)``). `S` is the level's measure over the part of
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
        let e = g.rowMajor3x4   // A00 A01 A02 b0 A10 ... in 3×4 order
        let entries = [e[0], e[1], e[2], e[4], e[5], e[6], e[8], e[9], e[10], e[3], e[7], e[11]]
        return (-s, entries)
    }

    static func run(level: WorkingLevel, start: Affine, centre: SIMD3<Double>, radiusMM: Double,
                    model: TransformModel, iterations: Int, learningRate: Double, threads: Int) -> Outcome {
        let params = AffineParameters(start: start, centre: centre, radiusMM: radiusMM, model: model)
        let n = params.freeCount
        var theta = [Double](repeating: 0, count: n)
        var m = [Double](repeating: 0, count: n), v = [Double](repeating: 0, count: n)
        let b1 = 0.9, b2 = 0.999, eps = 1e-8
        var best = start
        var bestLoss = Double.infinity
        var startLoss = Double.nan
        var done = 0
        for it in 0..<max(1, iterations + 1) {
            let t = params.transform(theta)
            let (loss, dT) = lossAndGradient(level: level, atlasToScan: t, threads: threads)
            if it == 0 { startLoss = loss }
            if loss.isFinite && loss < bestLoss { bestLoss = loss; best = t }
            if it == iterations { break }
            let g = params.chain(dT, at: theta)
            guard g.allSatisfy(\.isFinite) else { break }
            let decay = 0.1 + 0.9 * 0.5 * (1 + cos(Double.pi * Double(it) / Double(max(1, iterations))))
            let lr = learningRate * decay
            let c1 = 1 - pow(b1, Double(it + 1)), c2 = 1 - pow(b2, Double(it + 1))
            for k in 0..<n {
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k]
                theta[k] -= lr * (m[k] / c1) / ((v[k] / c2).squareRoot() + eps)
            }
            done += 1
        }
        return Outcome(atlasToScan: best, iterations: done, similarityStart: -startLoss, similarityEnd: -bestLoss)
    }
}
