import Foundation
import Similarity
import VolumeCore

/// The basin stage of the head shell's cross-contrast path: which brain in the head, decided by
/// edges before mutual information refines.
///
/// Why: against a skull-stripped atlas, mutual information (and the windowed NCC against the
/// remapped atlas) over the atlas brain scores the whole head of a scan with skull fitted into
/// the atlas brain above the brain in the head — a real T2 slab with skull: volume ratio 1.58
/// where the brain on the outline measures 0.66–0.81, a real b0 1.26 against 0.80–0.85 (README,
/// "A scan with skull, another contrast, a skull-stripped atlas") — and refinement from the
/// right place drifts there. Normalised gradient fields over the same mask, against the atlas
/// with the head shell on the search level, peak near the right place on both (the volume ratio
/// scanned from one answer to the other), since an edge is an edge in any contrast and the
/// shell's rings give the scan's skull and scalp edges somewhere to go.
///
/// What: the protocol's first `levels` levels are refined on `similarity` (`contrast.
/// basinSimilarity`, `ngf` in the shipped presets) from the path's start; the path's own levels
/// then run as before, from the basin's result. Within `toleranceMM` of it (mean distance over
/// the search level's atlas mask) their result is kept (more precise: normalised gradient fields
/// on every level were 0.1–0.3 mm less precise on the contrast benchmark). Beyond it they have
/// left the basin — to the whole head fitted into the brain, or out of a wrong basin to the right
/// place — and the two results are ranked by normalised gradient fields against the atlas with the
/// head shell (``Registration/Prepared/headShellSimilarity(_:)``, the rule that ranks a
/// same-contrast result against its cross-contrast retry): the synthetic T2s with skull of
/// `BasinStageTests` hold one case of each (the levels' 11.4 mm against the basin's 0.15 mm, and
/// the basin's 9.6 mm against the levels' 0.17 mm, kept by that rule).
/// Only on the head shell's path: against a head atlas the whole-head fit does not arise.
enum BasinStage {
    /// The protocol's basin settings (`contrast.basinSimilarity`, `basinLevels`, `basinToleranceMM`).
    struct Settings: Sendable, Equatable {
        var similarity: SimilarityKind
        var levels: Int
        var toleranceMM: Double
    }

    /// The basin stage's refinement: its levels' reports and its result.
    struct Run {
        var atlasToScan: Affine
        var levels: [LevelReport]
    }

    /// Refines `start` on the basin measure over the first `settings.levels` levels of `s`
    /// (their working levels, with the head shell where the path has it, re-prepared for the
    /// measure).
    static func run(_ s: Registration.Prepared, _ settings: Settings, from start: Affine,
                    progress: (@Sendable (String) -> Void)?) -> Run {
        let p = s.settings
        var t = start
        var reports: [LevelReport] = []
        for level in p.levels.prefix(settings.levels) {
            let clock = Stopwatch()
            let working = s.pyramid[level.spacingMM].optimising(settings.similarity, threads: s.threads)
            let r = Refinement.run(level: working, start: t, centre: s.atlasCentre, radiusMM: s.radiusMM,
                                   model: p.transform, iterations: level.iterations,
                                   learningRate: p.learningRate * level.spacingMM / p.levels[0].spacingMM,
                                   optimizer: p.optimizer, convergenceMM: p.convergenceMM(atSpacing: level.spacingMM), threads: s.threads)
            t = r.atlasToScan
            reports.append(LevelReport(spacingMM: level.spacingMM, iterations: r.iterations, evaluations: r.evaluations,
                                       stopReason: r.stopReason, similarityMeasure: settings.similarity,
                                       similarityStart: r.similarityStart, similarityEnd: r.similarityEnd, seconds: clock.total))
            progress?("basin, level \(formatMM(level.spacingMM)) mm (\(settings.similarity.rawValue)): similarity "
                + String(format: "%.4f → %.4f in %d iterations (%@)", r.similarityStart, r.similarityEnd, r.iterations, r.stopReason.rawValue))
        }
        return Run(atlasToScan: t, levels: reports)
    }

    /// The outcome once the path's own levels have run from the basin's result to `chain`.
    static func outcome(_ s: Registration.Prepared, _ settings: Settings, basin: Run, chain: Affine) -> Registration.BasinOutcome {
        let distance = s.searchLevel.meanDistanceMM(basin.atlasToScan, chain)
        var o = Registration.BasinOutcome(similarity: settings.similarity, levels: basin.levels, toleranceMM: settings.toleranceMM,
                                          chainDistanceMM: distance, basinResultKept: false)
        guard distance > settings.toleranceMM else { return o }
        o.basinHeadShellSimilarity = s.headShellSimilarity(basin.atlasToScan)
        o.chainHeadShellSimilarity = s.headShellSimilarity(chain)
        if let b = o.basinHeadShellSimilarity, let c = o.chainHeadShellSimilarity { o.basinResultKept = b > c }
        return o
    }
}

extension Registration {
    /// What the basin stage did (``BasinStage``), in the record's `contrast.basin` (absent when
    /// the path that produced the result had no basin stage, and in older records).
    public struct BasinOutcome: Sendable, Codable, Equatable {
        /// The basin stage's measure.
        public var similarity: SimilarityKind
        /// Its levels (the result's `levels` are the path's own, from the basin's result).
        public var levels: [LevelReport]
        public var toleranceMM: Double
        /// Mean distance (mm, over the atlas mask on the search level) between the basin's result
        /// and where the path's own levels ended.
        public var chainDistanceMM: Double
        /// True when the basin's result is the result: that distance exceeded the tolerance and
        /// the basin's result scores higher against the atlas with the head shell.
        public var basinResultKept: Bool
        /// Beyond the tolerance: the two results' similarities against the atlas with the head
        /// shell (``Registration/Prepared/headShellSimilarity(_:)``), which chose; nil within it.
        public var basinHeadShellSimilarity: Double? = nil
        public var chainHeadShellSimilarity: Double? = nil
    }
}

extension WorkingLevel {
    /// Mean distance (mm) between `a(x)` and `b(x)` over the atlas mask's voxels `x` (weighted by
    /// the mask), in a fixed order (same bits for any thread count).
    func meanDistanceMM(_ a: Affine, _ b: Affine) -> Double {
        let g = atlas.grid
        var sum = 0.0, weight = 0.0
        for k in 0..<g.dims.z {
            for j in 0..<g.dims.y {
                for i in 0..<g.dims.x {
                    let m = Double(mask[g.index(i, j, k)])
                    guard m > 0 else { continue }
                    let x = g.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
                    sum += m * length(a.apply(x) - b.apply(x))
                    weight += m
                }
            }
        }
        return weight > 0 ? sum / weight : 0
    }
}
