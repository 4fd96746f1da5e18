import Foundation
import Optimization
import Sampling
import VolumeCore

/// What to register and how.
public struct RegistrationRequest: Sendable {
    /// The moving image (any grid, any orientation).
    public var scan: Volume
    /// The fixed image; the result lives on its grid.
    public var atlas: Volume
    public var settings: RegistrationProtocol
    /// Threads for the kernels; the result is identical for every value.
    public var threads: Int
    /// Overrides the protocol's rotation-search mode.
    public var rotationSearch: RotationSearchMode?
    /// The spatial transformer. When set, it predicts the transform after initialisation and
    /// the rotation search becomes the fallback (run only when the check after refinement fails).
    public var predictor: NetworkPredictor?
    /// Skip refinement (the benchmark's "network alone" and "search alone" arms).
    public var refine: Bool
    /// Cost-function masks (``CostMask``): the voxels each similarity counts, on the scan's
    /// and on the atlas's own grid (nil = all). Lesions, tumours and cavities are kept out of
    /// the cost by leaving them out of the mask.
    public var scanMask: CostMask?
    public var atlasMask: CostMask?

    public init(scan: Volume, atlas: Volume, settings: RegistrationProtocol,
                threads: Int = ThreadPolicy.defaultThreadCount, rotationSearch: RotationSearchMode? = nil,
                predictor: NetworkPredictor? = nil, refine: Bool = true,
                scanMask: CostMask? = nil, atlasMask: CostMask? = nil) {
        self.scanMask = scanMask
        self.atlasMask = atlasMask
        self.scan = scan
        self.atlas = atlas
        self.settings = settings
        self.threads = threads
        self.rotationSearch = rotationSearch
        self.predictor = predictor
        self.refine = refine
    }
}

/// What one refinement level did.
public struct LevelReport: Sendable, Codable, Equatable {
    public var spacingMM: Double
    /// Steps taken (Adam: every iteration; second order: accepted steps).
    public var iterations: Int
    /// Loss evaluations (absent in records written before the second-order optimiser).
    public var evaluations: Int?
    /// Why the level stopped (absent in older records).
    public var stopReason: StopReason?
    /// The measure optimised at this level.
    public var similarityMeasure: SimilarityKind?
    /// True when the level optimised against the atlas rendered in the scan's contrast
    /// (`contrast.intensityRemap`: ``IntensityRemap``). Records written before it lack the key
    /// and decode to false.
    public var atlasRemapped: Bool = false
    /// On a level that may remap (the cross-contrast path's levels after the first, with
    /// `contrast.intensityRemap` `atlas`): η², the share of the warped scan's variance over the
    /// atlas's tissue that the atlas intensity explains at the level's start — the remap ran when
    /// it reached `contrast.intensityRemapMinCorrelationRatio`. Absent on other levels (and
    /// from older records).
    public var atlasRemapCorrelationRatio: Double? = nil
    /// Similarity at the level's start and end (on that level's grid).
    public var similarityStart: Double
    public var similarityEnd: Double
    public var seconds: Double
}

extension LevelReport {
    private enum CodingKeys: String, CodingKey {
        case spacingMM, iterations, evaluations, stopReason, similarityMeasure, atlasRemapped, atlasRemapCorrelationRatio,
             similarityStart, similarityEnd, seconds
    }

    /// The synthesised encoding, but `atlasRemapCorrelationRatio` is left out (not null) where
    /// absent, so the transform JSON and the audit record (whose JSON value encoder writes an
    /// absent optional as null) hold the same levels.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(spacingMM, forKey: .spacingMM)
        try c.encode(iterations, forKey: .iterations)
        try c.encodeIfPresent(evaluations, forKey: .evaluations)
        try c.encodeIfPresent(stopReason, forKey: .stopReason)
        try c.encodeIfPresent(similarityMeasure, forKey: .similarityMeasure)
        try c.encode(atlasRemapped, forKey: .atlasRemapped)
        if let atlasRemapCorrelationRatio { try c.encode(atlasRemapCorrelationRatio, forKey: .atlasRemapCorrelationRatio) }
        try c.encode(similarityStart, forKey: .similarityStart)
        try c.encode(similarityEnd, forKey: .similarityEnd)
        try c.encode(seconds, forKey: .seconds)
    }

    /// Records written before `atlasRemapped` lack the key: it decodes to false (the synthesised
    /// decoder would refuse them).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(spacingMM: try c.decode(Double.self, forKey: .spacingMM), iterations: try c.decode(Int.self, forKey: .iterations),
                  evaluations: try c.decodeIfPresent(Int.self, forKey: .evaluations),
                  stopReason: try c.decodeIfPresent(StopReason.self, forKey: .stopReason),
                  similarityMeasure: try c.decodeIfPresent(SimilarityKind.self, forKey: .similarityMeasure),
                  atlasRemapped: try c.decodeIfPresent(Bool.self, forKey: .atlasRemapped) ?? false,
                  atlasRemapCorrelationRatio: try c.decodeIfPresent(Double.self, forKey: .atlasRemapCorrelationRatio),
                  similarityStart: try c.decode(Double.self, forKey: .similarityStart),
                  similarityEnd: try c.decode(Double.self, forKey: .similarityEnd), seconds: try c.decode(Double.self, forKey: .seconds))
    }
}

/// The outcome of a registration: the result and every transform that led to it.
///
/// All transforms are world (RAS+ mm) maps from atlas points to scan points:
/// `warped(x) = scan(T·x)` (DESIGN.md).
public struct RegistrationResult: Sendable, Codable {
    /// The result.
    public var atlasToScan: Affine
    /// The initialisation: centre of mass, then the FFT translation search (the cross-contrast
    /// path's, when its retry was kept: ``Registration/ContrastDecision/crossContrastRetry``).
    public var initialisation: Affine
    /// The network's prediction from the initialisation (nil without a network or when it was
    /// not finite and invertible).
    public var prediction: Affine?
    /// The rotation search's winner after its brief refinement (nil when the search did not run).
    public var searchWinner: Affine?
    /// Where refinement started: the search winner, else the prediction, else the initialisation.
    public var refinementStart: Affine
    /// How far (mm) the network's last recurrent application still moved the scan (nil
    /// without a network or with one application); see ``NetworkPredictor/Prediction``.
    public var predictionLastCorrectionMM: Double?
    /// Global NCC over the atlas foreground at the finest level for the identity transform
    /// (the images as their headers place them). Whatever the protocol optimises, before/after
    /// and the quality check use this one measure, so results compare across protocols.
    public var similarityBefore: Double
    /// Global NCC over the atlas foreground at the finest level for the result (over the part
    /// the scan's field of view covers, when that is less than all of it but at least the 30 %
    /// below which refinement too uses the whole foreground).
    public var similarityAfter: Double
    /// The least `similarityAfter` that passes the check (`limits.minFinalSimilarity`, or
    /// `minFinalSimilarityBrainAtlas` against a brain atlas).
    public var similarityMinimum: Double
    /// Whether the scan was taken to share the atlas's contrast, and why (nil when the protocol
    /// does not decide).
    public var contrast: Registration.ContrastDecision?
    public var flags: [QualityFlag]
    public var levels: [LevelReport]
    /// Rotation candidates tried by the search (0 when it did not run).
    public var rotationCandidatesTried: Int
    /// Seconds per stage: prepare, initialise, predict, search, refine, total.
    public var timings: [String: Double]
    public var threads: Int

}

/// Errors that stop a registration (bad images rather than bad luck; bad luck is a flag).
public struct RegistrationError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The registration pipeline (DESIGN.md steps 2–6), composed of named stages
/// (RegistrationStages.swift): prepare → initialise → predict → search → refine → check.
public enum Registration {
    /// Mean corner displacement (mm) between prediction and refined result above which
    /// ``QualityFlag/predictionDisagreement`` is raised.
    public static let predictionDisagreementMM = 10.0
    /// In `fallback` mode, a prediction whose last recurrent application moved the scan by more
    /// than this (mm, ``NetworkPredictor/Prediction/lastCorrectionMM``) is not trusted: the
    /// rotation search runs before refinement, with the prediction as one more candidate.
    public static let predictionConvergenceMM = 3.0
    /// Below this fraction of the atlas mask inside the scan's field of view (at the result, on
    /// the finest level), ``QualityFlag/partialFieldOfView`` is raised.
    public static let partialFieldOfViewCoverage = 0.9

    /// Registers `request.scan` to `request.atlas`. `progress` receives one short line per stage.
    ///
    /// The rotation search runs when the mode (the request's, else the protocol's) is `always`,
    /// or `fallback` with a prediction that did not converge. A refinement that fails its check
    /// gets a second search (``retrySearch(_:mode:searched:)``) whose winner is refined too, and
    /// the better of the two results is kept (by the checked similarity; on a path with the head
    /// shell by ``Prepared/headShellSimilarity(_:)``). A scan the contrast
    /// probe took for the atlas's contrast whose result still fails its check is registered once
    /// more on the cross-contrast path (``crossContrastRetry(_:prediction:mode:refine:timings:progress:)``),
    /// and the better result is kept (``better(_:than:headShell:)``; recorded in
    /// ``ContrastDecision/crossContrastRetry`` and flagged ``QualityFlag/crossContrastRetryUsed``).
    public static func register(_ request: RegistrationRequest,
                                progress: (@Sendable (String) -> Void)? = nil) throws -> RegistrationResult {
        let clock = Stopwatch()
        var timings: [String: Double] = [:]
        let prepared = try Stopwatch.time("prepare", into: &timings) { try prepare(request) }
        progress?(prepared.summary)
        let mode = request.rotationSearch ?? prepared.settings.initialisation.rotationSearch
        // Another contrast than the atlas's: the whole pipeline runs on the cross-contrast path.
        let probe = try Stopwatch.time("contrast", into: &timings) { try probeContrast(prepared, mode: mode, progress: progress) }
        let path = probe.map { $0.decision.sameContrast ? prepared : $0.path } ?? prepared
        let crossProbe = probe.flatMap { $0.decision.sameContrast ? nil : $0 }
        let initialisation = crossProbe?.initialisation ?? Stopwatch.time("initialise", into: &timings) { initialise(path) }
        let prediction = try request.predictor.map { predictor in
            try Stopwatch.time("predict", into: &timings) { predict(request, with: predictor, from: initialisation, prepared: path) }
        }
        if let predictor = request.predictor { progress?("network prediction (\(predictor.applications)×)") }
        var searchWinner: SearchWinner?
        if mode == .always || (mode == .fallback && prediction?.converged == false) {
            searchWinner = Stopwatch.time("search", into: &timings) { search(path, from: initialisation, prediction: prediction) }
            progress?("rotation search: \(searchWinner!.candidatesTried) candidates")
        }
        var start = searchWinner?.atlasToScan ?? prediction?.atlasToScan ?? initialisation
        var refined = Stopwatch.time("refine", into: &timings) {
            refine(path, from: start, basinAlsoFrom: .init(prediction, searchWinner), enabled: request.refine, progress: progress)
        }
        var usedFallback = false
        if refined.flags.contains(where: \.isFailure), let retry = retrySearch(path, mode: mode, searched: searchWinner != nil) {
            let winner = Stopwatch.time("search", into: &timings) {
                search(path, from: initialisation, prediction: prediction, kind: retry.kind, skipping: retry.skipping)
            }
            // The next ranks compete only when their best outscores the first search's winner.
            let competes = retry.skipping == 0 || searchWinner.map { winner.score > $0.score } ?? true
            progress?("check failed; rotation search scored on \(retry.kind.rawValue)"
                + (retry.skipping > 0 ? ", the next \(RotationSearch.refinedCandidates) candidates refined" : "")
                + ": \(winner.candidatesTried) candidates" + (competes ? "" : "; none outscores the first search's winner"))
            if competes {
                let second = Stopwatch.time("refine", into: &timings) {
                    refine(path, from: winner.atlasToScan, basinAlsoFrom: .init(prediction, winner), enabled: request.refine, progress: progress)
                }
                usedFallback = true
                let secondBetter = path.scores(second, above: refined)
                if searchWinner == nil || secondBetter { searchWinner = winner }
                if secondBetter { refined = second; start = winner.atlasToScan }
            }
        }
        // The probe said "same contrast" and that failed its check: once more on the cross-contrast path.
        var contrast = probe?.decision, kept = (initialisation: initialisation, path: path)
        if let probe, probe.decision.sameContrast, refined.flags.contains(where: \.isFailure) {
            let retry = crossContrastRetry(probe, prediction: prediction, mode: mode, refine: request.refine, timings: &timings, progress: progress)
            let shell = retry.path.headShellSimilarities(retry.refined, refined)
            let better = better(retry.refined, than: refined, headShell: shell)
            contrast?.crossContrastRetry = .init(similarity: retry.refined.levels.first?.similarityMeasure ?? probe.path.settings.similarity,
                                                 sameContrastCheckedSimilarity: refined.similarity,
                                                 retryCheckedSimilarity: retry.refined.similarity, kept: better,
                                                 sameContrastHeadShellSimilarity: shell?.b, retryHeadShellSimilarity: shell?.a)
            if better { refined = retry.refined; start = retry.start; searchWinner = retry.searchWinner; kept = (retry.initialisation, retry.path) }
        }
        contrast?.basin = refined.basin
        let flags = check(kept.path, refined, prediction: prediction, mode: mode, usedFallback: usedFallback,
                          retriedCrossContrast: contrast?.crossContrastRetry != nil)
        timings["total"] = clock.total
        return RegistrationResult(atlasToScan: refined.atlasToScan, initialisation: kept.initialisation,
                                  prediction: prediction?.atlasToScan, searchWinner: searchWinner?.atlasToScan,
                                  refinementStart: start, predictionLastCorrectionMM: prediction?.lastCorrectionMM,
                                  similarityBefore: prepared.similarityBefore, similarityAfter: refined.similarity,
                                  similarityMinimum: prepared.settings.limits.minFinalSimilarity(brainAtlas: prepared.atlasIsABrain),
                                  contrast: contrast, flags: flags, levels: refined.levels,
                                  rotationCandidatesTried: searchWinner?.candidatesTried ?? 0,
                                  timings: timings, threads: prepared.threads)
    }

    /// A level finer than this fraction of the coarser image's voxel size is skipped.
    public static let finestLevelFraction = 0.8

    /// Voxel size (mm) of the coarser of the two images: the median of each image's three
    /// spacings — a stack of thick slices counts at its in-plane spacing (2×2×5 mm as 2 mm,
    /// 1×1×5 mm as 1 mm), since a level at that spacing still sees detail along two axes — the
    /// larger of the two. (It was the geometric mean, which put 2×2×5 mm at 2.7 mm and so dropped
    /// the 2 mm level: on the contrast benchmark's 5 mm slices, `stnbench accuracy default 6 1
    /// --contrast all`, that level brings the mean TRE of T1 0.515 → 0.290 mm, T2 0.549 → 0.433,
    /// PD 0.924 → 0.473, FLAIR 0.452 → 0.308.)
    public static func coarserVoxelMM(scan: Grid, atlas: Grid) -> Double {
        func median(_ g: Grid) -> Double { let s = [g.spacingMM.x, g.spacingMM.y, g.spacingMM.z].sorted(); return s[1] }
        return max(median(scan), median(atlas))
    }

    /// The protocol's levels without those finer than ``finestLevelFraction`` × the coarser
    /// image's voxel size (they would only interpolate: a 2 mm level for two 3.5 mm frames cost
    /// 60 % of the time and added nothing), and the skipped ones. The first two (coarsest) levels
    /// are always kept: the first alone is a coarse global fit (a 4×4×5 mm b0, whose 3 mm level
    /// the fraction dropped, ended about 10 mm from its 3 mm acquisition's result against the
    /// MNI152 with skull, unflagged; with the 3 mm level, 1.9–2.6 mm over four header moves).
    public static let alwaysKeptLevels = 2

    public static func levels(_ levels: [RegistrationProtocol.Level], scan: Grid, atlas: Grid)
        -> (kept: [RegistrationProtocol.Level], skipped: [RegistrationProtocol.Level]) {
        let limit = finestLevelFraction * coarserVoxelMM(scan: scan, atlas: atlas)
        var kept: [RegistrationProtocol.Level] = [], skipped: [RegistrationProtocol.Level] = []
        for (n, level) in levels.enumerated() {
            if n < alwaysKeptLevels || level.spacingMM >= limit { kept.append(level) } else { skipped.append(level) }
        }
        return (kept, skipped)
    }

}

func formatMM(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.2g", v) }
