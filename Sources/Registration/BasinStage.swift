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
/// What: from the same start as the path's own levels, the protocol's first `levels` levels are
/// refined on `similarity` (`contrast.basinSimilarity`, `ngf` in the shipped presets), first
/// to a loose tolerance (``decisionConvergenceFactor``). When the levels' result lies within
/// `toleranceMM` of the basin's (mean distance over the search level's atlas mask) it is kept
/// as it is: same bits as without the stage. Beyond it, the basin runs again from the same
/// start to the levels' own tolerance, from the network's prediction when there is one and
/// from the rotation search's runners-up (``Starts``), and the basin result scoring highest
/// against the shelled atlas is used (a real T2 slab rotated −15° in its header: from the
/// search's start 0.273, 8 mm off, measured with cd51128, which had no second start; from the
/// prediction 0.332, right; rotated 50° about x or 100° about y, right only from a runner-up:
/// `Tests/Scripts/header_rotations.py`, the records' `contrast.basin`);
/// then the levels
/// run once more from the basin's result; what they give (or the basin's result itself, if they
/// leave it again) is ranked against the first levels' result by normalised gradient fields
/// against the atlas with the head shell (``Registration/Prepared/headShellSimilarity(_:)``, the
/// rule that ranks a same-contrast result against its cross-contrast retry) and the higher kept.
/// The synthetic T2s with skull of `BasinStageTests` hold a case of each kind: the levels alone
/// 11.4 mm off where the basin's place is right, and the basin 9.6 mm off where the levels are
/// right (0.17 mm), each kept right by that rule.
/// Only on the head shell's path: against a head atlas the whole-head fit does not arise.
enum BasinStage {
    /// The protocol's basin settings (`contrast.basinSimilarity`, `basinLevels`, `basinToleranceMM`).
    struct Settings: Sendable, Equatable {
        var similarity: SimilarityKind
        var levels: Int
        var toleranceMM: Double
    }

    /// The first basin run's convergence tolerance, in multiples of the level's: it only says
    /// whether the levels' result lies in the basin's basin (within `toleranceMM`, millimetres),
    /// not where in it. Beyond the tolerance the stage runs again from the same start at the
    /// levels' own tolerance, so what is ranked and kept there is what it was before the factor
    /// (the real b0 of proxy_distance.py, ranked on the loose result instead: 1.40 → 2.69 mm).
    static let decisionConvergenceFactor = 5.0

    /// The rotation search's runners-up the stage also starts from beyond its tolerance (all
    /// it refines: ``RotationSearch/refinedCandidates`` − 1).
    static let maxRunnersUp = RotationSearch.refinedCandidates - 1

    /// The basin stage's refinement: its levels' reports and its result.
    struct Run {
        var atlasToScan: Affine
        var levels: [LevelReport]
    }

    /// Refines `start` on the basin measure over the first `settings.levels` levels of `s`
    /// (``Registration/levels(_:from:measure:count:progress:)``: their working levels, with the
    /// head shell where the path has it, re-prepared for the measure).
    static func run(_ s: Registration.Prepared, _ settings: Settings, from start: Affine, convergenceFactor: Double = 1,
                    progress: (@Sendable (String) -> Void)?) -> Run {
        let (t, reports) = Registration.levels(s, from: start, measure: settings.similarity, count: settings.levels,
                                               convergenceFactor: convergenceFactor, progress: progress)
        return Run(atlasToScan: t, levels: reports)
    }

    /// The further starts of the stage beyond its tolerance: the network's prediction, and the
    /// rotation search's other refined candidates (best first).
    struct Starts {
        var prediction: Affine? = nil
        var runnersUp: [Affine] = []

        init(prediction: Affine? = nil, runnersUp: [Affine] = []) {
            self.prediction = prediction
            self.runnersUp = runnersUp
        }

        /// The network's prediction (when there is one) and the runners-up of `search` (when it ran).
        init(_ prediction: Registration.PredictionStage?, _ search: Registration.SearchWinner?) {
            self.init(prediction: prediction?.atlasToScan, runnersUp: search?.runnersUp ?? [])
        }
    }

    /// The result, its levels' reports and the outcome: `levels` are the path's own levels'
    /// result and reports from `start`; `others` the further starts.
    static func choose(_ s: Registration.Prepared, _ settings: Settings, start: Affine, alsoFrom others: Starts,
                       levels: (Affine, [LevelReport]), progress: (@Sendable (String) -> Void)?)
        -> (atlasToScan: Affine, levels: [LevelReport], outcome: Registration.BasinOutcome) {
        var basin = run(s, settings, from: start, convergenceFactor: decisionConvergenceFactor, progress: progress)
        var distance = s.searchLevel.meanDistanceMM(basin.atlasToScan, levels.0)
        var fromOther: Bool?, fromRunnerUp: Int?, runnersUpTried: Int?
        if distance > settings.toleranceMM {
            progress?(String(format: "basin: the levels ended %.2f mm from its result (tolerance %@ mm): the basin again, converged",
                             distance, formatMM(settings.toleranceMM)))
            basin = run(s, settings, from: start, progress: progress)
            distance = s.searchLevel.meanDistanceMM(basin.atlasToScan, levels.0)
        }
        if distance > settings.toleranceMM {
            // The levels disagree with the basin: further starts (the network's prediction, the
            // search's runners-up), and the basin result that scores highest against the shelled
            // atlas. (Where they agree, the stage costs one loose basin run.)
            var bestScore = s.headShellSimilarity(basin.atlasToScan) ?? 0
            if let other = others.prediction, other != start {
                let second = run(s, settings, from: other, progress: progress)
                let score = s.headShellSimilarity(second.atlasToScan) ?? 0
                fromOther = score > bestScore
                if score > bestScore { basin = second; bestScore = score }
            }
            let extra = others.runnersUp.filter { $0 != start && $0 != others.prediction }.prefix(maxRunnersUp)
            runnersUpTried = extra.count
            for (rank, t) in extra.enumerated() {
                let r = run(s, settings, from: t, progress: progress)
                let score = s.headShellSimilarity(r.atlasToScan) ?? 0
                if score > bestScore {
                    basin = r; bestScore = score; fromRunnerUp = rank + 1
                    if fromOther == true { fromOther = false }
                }
            }
            distance = s.searchLevel.meanDistanceMM(basin.atlasToScan, levels.0)
        }
        var o = Registration.BasinOutcome(similarity: settings.similarity, levels: basin.levels, toleranceMM: settings.toleranceMM,
                                          levelsDistanceMM: distance, kept: .levels)
        o.fromPrediction = fromOther
        o.runnersUpTried = runnersUpTried
        o.fromRunnerUp = fromRunnerUp
        let tolerance = formatMM(settings.toleranceMM)
        guard distance > settings.toleranceMM else {
            progress?(String(format: "basin: the levels ended %.2f mm from its result (tolerance %@ mm): theirs is kept", distance, tolerance))
            return (levels.0, levels.1, o)
        }
        // The levels left the basin: once more from its result.
        progress?(String(format: "basin: the levels ended %.2f mm from its result (tolerance %@ mm): refining from the basin's result", distance, tolerance))
        let again = Registration.levels(s, from: basin.atlasToScan, progress: progress)
        let againDistance = s.searchLevel.meanDistanceMM(basin.atlasToScan, again.0)
        o.levelsFromBasinDistanceMM = againDistance
        let candidate: (Affine, [LevelReport]) = againDistance <= settings.toleranceMM ? again : (basin.atlasToScan, again.1)
        o.levelsHeadShellSimilarity = s.headShellSimilarity(levels.0)
        o.candidateHeadShellSimilarity = s.headShellSimilarity(candidate.0)
        if let a = o.levelsHeadShellSimilarity, let c = o.candidateHeadShellSimilarity, c > a {
            o.kept = againDistance <= settings.toleranceMM ? .levelsFromBasin : .basin
        }
        progress?(String(format: "basin: from its result the levels ended %.2f mm from it; head-shell similarity of the first levels' result %.4f, of the %@ %.4f: ",
                         againDistance, o.levelsHeadShellSimilarity ?? .nan,
                         againDistance <= settings.toleranceMM ? "levels from the basin's result" : "basin's result", o.candidateHeadShellSimilarity ?? .nan)
            + "kept: \(o.kept.rawValue)")
        return o.kept == .levels ? (levels.0, levels.1, o) : (candidate.0, candidate.1, o)
    }
}

extension Registration {
    /// What the basin stage did (``BasinStage``), in the record's `contrast.basin` (absent when
    /// the path that produced the result had no basin stage, and in older records).
    public struct BasinOutcome: Sendable, Codable, Equatable {
        /// The basin stage's measure.
        public var similarity: SimilarityKind
        /// Its levels (the result's `levels` are the path's own: those that ran from the start,
        /// or, when the stage's result or the levels from it were kept, those from its result).
        public var levels: [LevelReport]
        public var toleranceMM: Double
        /// Mean distance (mm, over the atlas mask on the search level) between the basin's result
        /// and the levels' result from the same start.
        public var levelsDistanceMM: Double
        /// Which result is the result (``BasinChoice``).
        public var kept: BasinChoice
        /// Beyond the tolerance: the distance from the basin's result at which the levels run
        /// from it ended, and the head-shell similarities of the first levels' result and of
        /// the other candidate (the levels from the basin's result when they stayed within the
        /// tolerance, else the basin's result), which chose; nil within it.
        public var levelsFromBasinDistanceMM: Double? = nil
        public var levelsHeadShellSimilarity: Double? = nil
        public var candidateHeadShellSimilarity: Double? = nil
        /// With the network's prediction as a second start (run only when the levels ended beyond
        /// the tolerance from the first basin result): whether the basin result from it (true)
        /// or from the path's start (false) scored higher against the shelled atlas and was
        /// used; nil when it did not run.
        public var fromPrediction: Bool? = nil
        /// Beyond the tolerance: how many of the rotation search's runners-up the stage also
        /// started from, and the rank (1 = the search's second best) of the one whose basin
        /// result scored highest and was used (nil: none was; both nil within the tolerance
        /// and in older records).
        public var runnersUpTried: Int? = nil
        public var fromRunnerUp: Int? = nil
    }

    /// `contrast.basin.kept`: the levels' result from the path's start; the levels' result from
    /// the basin stage's; or the basin stage's result itself.
    public enum BasinChoice: String, Sendable, Codable, Equatable {
        case levels, levelsFromBasin, basin
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
