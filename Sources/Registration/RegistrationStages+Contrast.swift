import Foundation
import Optimization
import Sampling
import Similarity
import VolumeCore

/// The contrast stages of ``Registration/register(_:progress:)``: the probe that decides whether
/// scan and atlas share a contrast (stage 2) and the cross-contrast retry of a same-contrast
/// result that fails its check (stage 6b).
extension Registration {
    /// Stage 2 — whether scan and atlas share a contrast (``RegistrationProtocol/ContrastSettings``).
    public struct ContrastDecision: Sendable, Codable, Equatable {
        /// Global NCC of the probe's start with the atlas at the search level, over the atlas's
        /// tissue (normalised intensity above 0.2).
        public var startNCC: Double
        /// The correlation ratio η there (``correlationRatio(scan:atlas:weights:bins:)``).
        public var correlationRatio: Double
        /// `startNCC / correlationRatio`: how much of the dependence is a positive linear one;
        /// compared with the protocol's `sameContrastMinLinearity`.
        public var linearity: Double
        /// The probe's decision: true when refinement optimised each level's own measure; false
        /// when it optimised the protocol's cross-contrast measure on every level. (A same-contrast
        /// result that failed its check was retried on the cross-contrast path: `crossContrastRetry`.)
        public var sameContrast: Bool
        /// The measure every level optimised when `sameContrast` is false.
        public var crossContrastSimilarity: SimilarityKind?
        /// Set when `sameContrast` was true but that result failed its check, so the
        /// cross-contrast path ran once more; nil otherwise (null in the audit record, like every
        /// absent member). Records written before it existed lack the key and decode to nil; a
        /// log's hashes are over its stored lines, so old logs verify unchanged.
        public var crossContrastRetry: CrossContrastRetry? = nil
        /// Whether the cross-contrast path registers its searches and coarsest level against the
        /// atlas with a synthetic head (``HeadShell``), and the figures that decided it (nil when
        /// the protocol's `contrast.headShell` is `off`; absent from older records).
        public var headShell: HeadShellDecision? = nil
        /// What the basin stage did on the path that produced the result (``BasinStage``; nil
        /// when that path had none, and in older records).
        public var basin: BasinOutcome? = nil
    }

    /// Whether the atlas looks skull-stripped (``HeadShell``).
    public struct HeadShellDecision: Sendable, Codable, Equatable {
        /// The atlas's filled foreground on the search level, in litres.
        public var atlasForegroundLitres: Double
        /// The fraction of the atlas mask (search level) inside the scan's field of view at the
        /// probe's start (absent in records written before it).
        public var scanCoverage: Double?
        /// True when the atlas's foreground is below the limit of a brain and the scan covers at
        /// least the limit's fraction of it: the cross-contrast path (taken or retried) then
        /// searches and refines its coarsest level against the atlas with the shell; finer
        /// levels and the check use the plain atlas.
        public var applies: Bool
    }

    /// The cross-contrast retry of a same-contrast result that failed its check.
    public struct CrossContrastRetry: Sendable, Codable, Equatable {
        /// The measure the retry optimised on every level.
        public var similarity: SimilarityKind
        /// The checked similarity (the check's measure at the finest level) of the same-contrast
        /// result and of the retry's.
        public var sameContrastCheckedSimilarity: Double
        public var retryCheckedSimilarity: Double
        /// True when the retry's result was kept (it passed the check where the first did not,
        /// or both passed or failed alike and it scored higher: by the head-shell similarities
        /// below when present, else by the checked similarity).
        public var kept: Bool
        /// With the head shell on the retry's path: normalised gradient fields of each result
        /// against the atlas with the shell on the search level, which chose between them
        /// (``Registration/better(_:than:headShell:)``); nil otherwise and in older records.
        public var sameContrastHeadShellSimilarity: Double? = nil
        public var retryHeadShellSimilarity: Double? = nil

        public init(similarity: SimilarityKind, sameContrastCheckedSimilarity: Double, retryCheckedSimilarity: Double, kept: Bool,
                    sameContrastHeadShellSimilarity: Double? = nil, retryHeadShellSimilarity: Double? = nil) {
            self.similarity = similarity
            self.sameContrastCheckedSimilarity = sameContrastCheckedSimilarity
            self.retryCheckedSimilarity = retryCheckedSimilarity
            self.kept = kept
            self.sameContrastHeadShellSimilarity = sameContrastHeadShellSimilarity
            self.retryHeadShellSimilarity = retryHeadShellSimilarity
        }
    }

    /// The correlation ratio η = √(1 − Σ_b W_b Var(scan | atlas bin b) / (W Var(scan))) over
    /// `weights`, atlas intensities (on [0, 1]) in 32 bins: 1 when the scan is any function of
    /// the atlas, 0 when the atlas says nothing of it (Roche et al. 1998; FLIRT's default cost).
    static func correlationRatio(scan: [Float], atlas: [Float], weights: [Float], bins: Int = 32) -> Double {
        PreparedCorrelationRatio(atlas: atlas, mask: weights, bins: bins, threads: 1).value(warped: scan).squareRoot()
    }

    /// Normalised atlas intensity above which a voxel counts as tissue for the contrast decision.
    static let contrastTissueThreshold: Float = 0.2

    /// What the contrast probe found: the decision, and the cross-contrast path with its
    /// initialisation (reused when the decision is "another contrast").
    struct ContrastProbe {
        var decision: ContrastDecision
        var path: Prepared
        var initialisation: Affine
        /// True once `path` and `initialisation` are the head shell's.
        var shelled = false

        /// The probe with the head shell's cross-contrast path (``Prepared/withHeadShell()``) and
        /// its own initialisation (the FFT translation search against the shelled atlas).
        func withHeadShell() -> ContrastProbe {
            guard !shelled else { return self }
            var p = self
            p.path = path.withHeadShell()
            p.initialisation = initialise(p.path)
            p.shelled = true
            return p
        }
    }

    /// Decides from the images whether the scan's contrast is the atlas's (nil when the protocol
    /// has no `contrast` section): the cross-contrast path's initialisation and rotation search
    /// (one refined candidate; skipped in mode `never`) find a start whatever the contrast; there,
    /// over the atlas's tissue (normalised intensity above ``contrastTissueThreshold``: over the
    /// whole mask the brain-against-background edge makes every contrast correlate), the
    /// linearity NCC / η says whether the intensities relate positively and linearly. With
    /// `contrast.headShell` `auto` it also decides whether the cross-contrast path uses the head
    /// shell (``HeadShell``); when the scan is of another contrast and it does, the probe's path
    /// and initialisation returned are the shell's (the decision's start was the plain path's).
    static func probeContrast(_ s: Prepared, mode: RotationSearchMode, progress: (@Sendable (String) -> Void)?) throws -> ContrastProbe? {
        guard let c = s.settings.contrast else { return nil }
        let cross = s.crossContrast(c)
        let ini = initialise(cross)
        // One refined candidate is enough to decide (and cheap: a T1 pays a quarter of a search).
        let winner = mode == .never ? nil : search(cross, from: ini, prediction: nil, refined: 1)
        let start = winner?.atlasToScan ?? ini
        let level = s.searchLevel
        let tissue = zip(level.mask, level.atlas.voxels).map { m, a in a > contrastTissueThreshold ? m : 0 }
        let warped = Refinement.warp(level, start, s.threads)
        let ncc = GlobalNCC(threads: s.threads).prepare(atlas: level.atlas, mask: tissue).evaluate(warped: warped).value
        // Linearity: NCC over the correlation ratio's root (η, how well any function of the atlas
        // predicts the scan). A misaligned T1 lowers both; a T2 keeps η and loses NCC.
        let eta = correlationRatio(scan: warped, atlas: level.atlas.voxels, weights: tissue)
        let linearity = eta > 0 ? ncc / eta : 0
        let same = linearity >= c.sameContrastMinLinearity
        let figures = String(format: "NCC %.2f, correlation ratio %.2f, linearity %.2f", ncc, eta, linearity)
        progress?(same ? "same contrast as the atlas (\(figures))"
            : "another contrast than the atlas (\(figures)): \(c.crossContrastSimilarity.rawValue) on every level")
        var decision = ContrastDecision(startNCC: ncc, correlationRatio: eta, linearity: linearity, sameContrast: same,
                                        crossContrastSimilarity: same ? nil : c.crossContrastSimilarity)
        // A skull-stripped atlas: the cross-contrast path's coarse stages
        // against the atlas with a head (built only when that path runs: now, or at a retry).
        if c.headShell == .auto {
            decision.headShell = HeadShell.decide(atlasLitres: s.atlasLitres,
                                                        coverage: level.coveredMask(atlasToScan: start, marginMM: 0).coverage)
        }
        let probe = ContrastProbe(decision: decision, path: cross, initialisation: ini)
        guard !same, let shell = decision.headShell, shell.applies else { return probe }
        progress?(headShellLine(shell, cross))
        return probe.withHeadShell()
    }

    /// The progress line of a cross-contrast path that uses the head shell.
    static func headShellLine(_ shell: HeadShellDecision, _ path: Prepared) -> String {
        String(format: "head shell (the atlas looks skull-stripped: foreground %.1f L): ", shell.atlasForegroundLitres)
            + "the searches\(path.settings.contrast?.basinSimilarity != nil ? ", the basin stage" : "") and the \(formatMM(path.settings.levels[0].spacingMM)) mm level run against the atlas with a synthetic head"
    }

    /// A whole second attempt on the cross-contrast path, after a same-contrast result failed
    /// its check (``crossContrastRetry(_:prediction:mode:refine:timings:progress:)``).
    struct Retry {
        /// The cross-contrast path the retry ran on (with the head shell when it applies).
        var path: Prepared
        var refined: Refined
        var initialisation: Affine
        var searchWinner: SearchWinner?
        var start: Affine
    }

    /// Stage 6b — the probe took the scan for the atlas's contrast (NCC, windowed NCC) and that
    /// result failed its check: the cross-contrast path runs once, as it would have had the probe
    /// decided otherwise — its initialisation (the probe's), the rotation search on its measure
    /// unless the mode is `never` (a usable prediction as one more candidate), refinement on the
    /// cross-contrast measure on every level. A linearity near the threshold, a scan with little
    /// tissue contrast or a probe start far off can make the decision wrong; the checked
    /// similarity means the same on both paths (the check's measure), so the two results compare.
    static func crossContrastRetry(_ probe: ContrastProbe, prediction: PredictionStage?, mode: RotationSearchMode,
                                   refine enabled: Bool, timings: inout [String: Double],
                                   progress: (@Sendable (String) -> Void)?) -> Retry {
        let shell = probe.decision.headShell.flatMap { $0.applies ? $0 : nil }
        if let shell { progress?(headShellLine(shell, probe.path)) }
        let probe = shell != nil ? Stopwatch.time("contrast", into: &timings) { probe.withHeadShell() } : probe
        let path = probe.path
        var winner: SearchWinner?
        if mode != .never {   // `fallback` too: the check failed
            winner = Stopwatch.time("search", into: &timings) { search(path, from: probe.initialisation, prediction: prediction) }
        }
        let start = winner?.atlasToScan ?? prediction?.atlasToScan ?? probe.initialisation
        let kind = path.settings.levels[0].similarity ?? path.settings.similarity
        progress?("check failed on the same-contrast path; retrying on \(kind.rawValue) on every level"
            + (winner.map { " (rotation search: \($0.candidatesTried) candidates)" } ?? ""))
        let refined = Stopwatch.time("refine", into: &timings) { refine(path, from: start, basinAlsoFrom: .init(prediction, winner), enabled: enabled, progress: progress) }
        return Retry(path: path, refined: refined, initialisation: probe.initialisation, searchWinner: winner, start: start)
    }

    /// True when `a` is the better result: it passes the check where `b` fails; or both pass (or
    /// both fail) and it scores higher — by `headShell` (the two results' similarities against
    /// the atlas with the head shell, ``Prepared/headShellSimilarity(_:)``) when given, else by
    /// the checked similarity.
    static func better(_ a: Refined, than b: Refined, headShell: (a: Double, b: Double)? = nil) -> Bool {
        let aFails = a.flags.contains(where: \.isFailure), bFails = b.flags.contains(where: \.isFailure)
        return aFails != bFails ? !aFails : scoresAbove(a, b, headShell: headShell)
    }

    /// The one rule that ranks two results: by their similarities against the atlas with the
    /// head shell when given, else by the checked similarity.
    static func scoresAbove(_ a: Refined, _ b: Refined, headShell: (a: Double, b: Double)?) -> Bool {
        headShell.map { $0.a > $0.b } ?? (a.similarity > b.similarity)
    }
}
