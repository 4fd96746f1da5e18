import Foundation
import Optimization
import Sampling
import Similarity
import VolumeCore

/// The stages of ``Registration/register(_:progress:)``, each a function with a typed result.
extension Registration {
    /// Stage 1 — the images prepared for every later stage.
    struct Prepared {
        /// The protocol as used (levels finer than the images removed).
        var settings: RegistrationProtocol
        var pyramid: Pyramid
        /// Spacing (mm) of the level the searches work on.
        var searchSpacingMM: Double
        var atlasCentre: SIMD3<Double>
        var scanCentre: SIMD3<Double>
        /// Normalising radius (mm) of the transform parameters.
        var radiusMM: Double
        var threads: Int
        /// The check's similarity at the finest level for the identity (the headers' placement).
        var similarityBefore: Double
        /// The full-resolution scan and atlas as normalised with the protocol's percentiles
        /// (the network's input when its model uses the same ones).
        var normalised: (scan: Volume, atlas: Volume, percentiles: [Double])
        /// One progress line.
        var summary: String

        var searchLevel: WorkingLevel { pyramid[searchSpacingMM] }
        var finestLevel: WorkingLevel { pyramid[settings.levels.last!.spacingMM] }

        /// The cross-contrast path: the contrast section's search measure and translation-search
        /// features, and every level (the search level too) optimising its cross-contrast measure.
        func crossContrast(_ c: RegistrationProtocol.ContrastSettings) -> Prepared {
            var p = self
            p.settings.initialisation.searchSimilarity = c.searchSimilarity
            p.settings.initialisation.translationSearchFeatures = c.translationSearchFeatures
            for n in p.settings.levels.indices { p.settings.levels[n].similarity = c.crossContrastSimilarity }
            p.pyramid = pyramid.optimising(c.crossContrastSimilarity, threads: threads)
            return p
        }
    }

    /// Stage 4 — the network's prediction.
    struct PredictionStage {
        /// The prediction, when finite and invertible.
        var atlasToScan: Affine?
        var lastCorrectionMM: Double?
        /// False when the last application still moved the scan by more than
        /// ``predictionConvergenceMM``, or the prediction was not usable.
        var converged: Bool
    }

    /// Stage 5 — the rotation search's best candidate after its brief refinement.
    struct SearchWinner {
        var atlasToScan: Affine
        var candidatesTried: Int
    }

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
        /// or both passed or failed alike and its checked similarity was higher).
        public var kept: Bool

        public init(similarity: SimilarityKind, sameContrastCheckedSimilarity: Double, retryCheckedSimilarity: Double, kept: Bool) {
            self.similarity = similarity
            self.sameContrastCheckedSimilarity = sameContrastCheckedSimilarity
            self.retryCheckedSimilarity = retryCheckedSimilarity
            self.kept = kept
        }
    }

    /// The correlation ratio η = √(1 − Σ_b W_b Var(scan | atlas bin b) / (W Var(scan))) over
    /// `weights`, atlas intensities (on [0, 1]) in 32 bins: 1 when the scan is any function of
    /// the atlas, 0 when the atlas says nothing of it (Roche et al. 1998; FLIRT's default cost).
    static func correlationRatio(scan: [Float], atlas: [Float], weights: [Float], bins: Int = 32) -> Double {
        var w = [Double](repeating: 0, count: bins), sx = w, sxx = w
        for n in scan.indices where weights[n] > 0 {
            let b = min(bins - 1, max(0, Int(atlas[n] * Float(bins))))
            let x = Double(scan[n]), v = Double(weights[n])
            w[b] += v; sx[b] += v * x; sxx[b] += v * x * x
        }
        let total = w.reduce(0, +), mean = sx.reduce(0, +) / max(total, 1e-12)
        let variance = sxx.reduce(0, +) / max(total, 1e-12) - mean * mean
        guard total > 0, variance > 1e-12 else { return 0 }
        var within = 0.0
        for b in 0..<bins where w[b] > 0 { within += sxx[b] - sx[b] * sx[b] / w[b] }
        return max(0, 1 - within / (total * variance)).squareRoot()
    }

    /// Normalised atlas intensity above which a voxel counts as tissue for the contrast decision.
    static let contrastTissueThreshold: Float = 0.2

    /// What the contrast probe found: the decision, and the cross-contrast path with its
    /// initialisation (reused when the decision is "another contrast").
    struct ContrastProbe {
        var decision: ContrastDecision
        var path: Prepared
        var initialisation: Affine
    }

    /// Decides from the images whether the scan's contrast is the atlas's (nil when the protocol
    /// has no `contrast` section): the cross-contrast path's initialisation and rotation search
    /// (one refined candidate; skipped in mode `never`) find a start whatever the contrast; there,
    /// over the atlas's tissue (normalised intensity above ``contrastTissueThreshold``: over the
    /// whole mask the brain-against-background edge makes every contrast correlate), the
    /// linearity NCC / η says whether the intensities relate positively and linearly.
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
        let decision = ContrastDecision(startNCC: ncc, correlationRatio: eta, linearity: linearity, sameContrast: same,
                                        crossContrastSimilarity: same ? nil : c.crossContrastSimilarity)
        return ContrastProbe(decision: decision, path: cross, initialisation: ini)
    }

    /// A whole second attempt on the cross-contrast path, after a same-contrast result failed
    /// its check (``crossContrastRetry(_:prediction:mode:refine:timings:progress:)``).
    struct Retry {
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
        let path = probe.path
        var winner: SearchWinner?
        if mode != .never {   // `fallback` too: the check failed
            winner = Stopwatch.time("search", into: &timings) { search(path, from: probe.initialisation, prediction: prediction) }
        }
        let start = winner?.atlasToScan ?? prediction?.atlasToScan ?? probe.initialisation
        let kind = path.settings.levels[0].similarity ?? path.settings.similarity
        progress?("check failed on the same-contrast path; retrying on \(kind.rawValue) on every level"
            + (winner.map { " (rotation search: \($0.candidatesTried) candidates)" } ?? ""))
        let refined = Stopwatch.time("refine", into: &timings) { refine(path, from: start, enabled: enabled, progress: progress) }
        return Retry(refined: refined, initialisation: probe.initialisation, searchWinner: winner, start: start)
    }

    /// True when `a` is the better checked result: it passes the check where `b` fails, or both
    /// pass (or both fail) and its checked similarity is higher.
    static func better(_ a: Refined, than b: Refined) -> Bool {
        let aFails = a.flags.contains(where: \.isFailure), bFails = b.flags.contains(where: \.isFailure)
        return aFails != bFails ? !aFails : a.similarity > b.similarity
    }

    /// Stage 6 — refinement over every level, with the check's similarity and flags.
    struct Refined {
        var atlasToScan: Affine
        var levels: [LevelReport]
        /// The check's similarity at the finest level (over the covered part of the mask).
        var similarity: Double
        /// Fraction of the mask's weight inside the scan's field of view (1 = all).
        var coverage: Double
        var flags: [QualityFlag]
    }

    /// Robust normalisation, the pyramid (without levels finer than the images), the centres
    /// of mass and the parameters' radius.
    static func prepare(_ request: RegistrationRequest) throws -> Prepared {
        // A single slice (2D) or a one-voxel-thick volume leaves the affine unconstrained along
        // that axis: refuse it rather than return an arbitrary, unflagged transform.
        for (name, v) in [("scan", request.scan), ("atlas", request.atlas)] where v.dims.min() < 2 {
            throw RegistrationError("the \(name) is \(v.dims.x)×\(v.dims.y)×\(v.dims.z) voxels (a single slice or one voxel thick); 3D registration needs at least 2 voxels along every axis")
        }
        var p = request.settings
        let threads = max(1, request.threads)
        let (levels, skipped) = Registration.levels(p.levels, scan: request.scan.grid, atlas: request.atlas.grid)
        p.levels = levels
        let pct = (p.intensityPercentiles[0], p.intensityPercentiles[1])
        let atlasN = ImagePreparation.robustNormalise(request.atlas, percentiles: pct).volume
        let scanN = ImagePreparation.robustNormalise(request.scan, percentiles: pct).volume
        guard let atlasCentre = ImagePreparation.centreOfMass(atlasN) else {
            throw RegistrationError("the atlas has no foreground (every voxel is at its minimum); check the atlas file")
        }
        guard let scanCentre = ImagePreparation.centreOfMass(scanN) else {
            throw RegistrationError("the scan has no foreground (every voxel is at its minimum); check the scan file")
        }
        let searchSpacing = p.initialisation.searchSpacingMM
        let settings = p
        let pyramid = Pyramid(atlas: atlasN, scan: scanN, spacings: p.levels.map(\.spacingMM) + [searchSpacing],
                              similarity: { s in settings.levels.first(where: { $0.spacingMM == s })?.similarity ?? settings.similarity },
                              lnccRadius: p.lnccRadius, threads: threads,
                              atlasMask: request.atlasMask?.volume, scanMask: request.scanMask?.volume)
        let radius = max(10, ImagePreparation.radiusOfGyration(pyramid[searchSpacing].atlas, centre: atlasCentre))
        let finest = pyramid[p.levels.last!.spacingMM]
        let before = Refinement.checkedSimilarity(level: finest, atlasToScan: .identity, measure: p.limits.checkMeasure, threads: threads).value
        let names = p.levels.map { "\(formatMM($0.spacingMM)) mm" }.joined(separator: ", ")
        let skippedNote = skipped.isEmpty ? ""
            : "; skipped \(skipped.map { "\(formatMM($0.spacingMM)) mm" }.joined(separator: ", ")), finer than the \(formatMM(Registration.coarserVoxelMM(scan: request.scan.grid, atlas: request.atlas.grid))) mm voxels"
        return Prepared(settings: p, pyramid: pyramid, searchSpacingMM: searchSpacing, atlasCentre: atlasCentre,
                        scanCentre: scanCentre, radiusMM: radius, threads: threads, similarityBefore: before,
                        normalised: (scanN, atlasN, p.intensityPercentiles),
                        summary: "prepared \(p.levels.count) levels (\(names)\(skippedNote))")
    }

    /// Centre of mass, then the FFT translation search (each as the protocol says).
    static func initialise(_ s: Prepared) -> Affine {
        let ini = s.settings.initialisation
        var t = ini.centreOfMass ? Affine.translation(s.scanCentre - s.atlasCentre) : .identity
        if ini.translationSearch {
            t = TranslationSearch.best(level: s.searchLevel, start: t, features: ini.translationSearchFeatures,
                                       scoredBy: ini.searchSimilarity,
                                       threads: s.threads)?.atlasToScan ?? t
        }
        return t
    }

    /// The network's prediction from the initialisation.
    static func predict(_ request: RegistrationRequest, with predictor: NetworkPredictor, from start: Affine,
                        prepared: Prepared) -> PredictionStage {
        let p = predictor.predict(scan: request.scan, atlas: request.atlas, start: start, threads: prepared.threads,
                                  normalised: prepared.normalised)
        guard p.atlasToScan.isFinite, p.atlasToScan.inverse != nil else {
            return PredictionStage(atlasToScan: nil, lastCorrectionMM: p.lastCorrectionMM, converged: false)
        }
        return PredictionStage(atlasToScan: p.atlasToScan, lastCorrectionMM: p.lastCorrectionMM,
                               converged: (p.lastCorrectionMM ?? 0) <= predictionConvergenceMM)
    }

    /// The rotation search from the initialisation (never from a prediction); a usable
    /// prediction competes as one more candidate.
    /// `refined` of the best-scoring rotations get the translation search and a brief
    /// refinement (the probe refines one, a full search ``RotationSearch/refinedCandidates``).
    static func search(_ s: Prepared, from initialisation: Affine, prediction: PredictionStage?,
                       kind: SimilarityKind? = nil, refined: Int = RotationSearch.refinedCandidates) -> SearchWinner {
        var settings = s.settings
        if let kind { settings.initialisation.searchSimilarity = kind }
        let r = RotationSearch.run(level: s.searchLevel, atlasCentre: s.atlasCentre, scanCentre: s.scanCentre,
                                   start: initialisation, extraCandidates: prediction?.atlasToScan.map { [$0] } ?? [],
                                   radiusMM: s.radiusMM, settings: settings,
                                   useTranslationSearch: s.settings.initialisation.translationSearch, refined: refined,
                                   threads: s.threads)
        return SearchWinner(atlasToScan: r.best, candidatesTried: r.candidatesTried)
    }

    /// The measure of a second rotation search after a failed check, or nil for none: in
    /// `fallback` mode the protocol's search measure when no search ran yet; otherwise global NCC
    /// when the first search was scored on another measure (the cross-contrast path's MI). The
    /// checked similarity then picks between the two results.
    static func retrySearch(_ s: Prepared, mode: RotationSearchMode, searched: Bool) -> SimilarityKind? {
        let first = s.settings.initialisation.searchSimilarity
        if mode == .fallback && !searched { return first }
        if searched && first != .ncc { return .ncc }
        return nil
    }

    /// Refinement coarse to fine from `start` (skipped when `enabled` is false), then the checked
    /// similarity at the finest level and the protocol's quality flags.
    static func refine(_ s: Prepared, from start: Affine, enabled: Bool,
                       progress: (@Sendable (String) -> Void)?) -> Refined {
        let p = s.settings
        var t = start
        var reports: [LevelReport] = []
        let firstSpacing = p.levels[0].spacingMM
        for level in p.levels where enabled {
            let clock = Stopwatch()
            let lr = p.learningRate * level.spacingMM / firstSpacing
            let working = s.pyramid[level.spacingMM]
            let r = Refinement.run(level: working, start: t, centre: s.atlasCentre, radiusMM: s.radiusMM,
                                   model: p.transform, iterations: level.iterations, learningRate: lr,
                                   optimizer: p.optimizer, convergenceMM: p.convergenceMM(atSpacing: level.spacingMM), threads: s.threads)
            t = r.atlasToScan
            reports.append(LevelReport(spacingMM: level.spacingMM, iterations: r.iterations,
                                       evaluations: r.evaluations, stopReason: r.stopReason,
                                       similarityMeasure: working.similarity,
                                       similarityStart: r.similarityStart, similarityEnd: r.similarityEnd,
                                       seconds: clock.total))
            progress?("level \(formatMM(level.spacingMM)) mm: similarity \(String(format: "%.4f", r.similarityStart)) → \(String(format: "%.4f", r.similarityEnd)) in \(r.iterations) iterations (\(r.stopReason.rawValue))")
        }
        let (after, coverage) = Refinement.checkedSimilarity(level: s.finestLevel, atlasToScan: t, measure: p.limits.checkMeasure,
                                                             threads: s.threads)
        return Refined(atlasToScan: t, levels: reports, similarity: after, coverage: coverage,
                       flags: QualityFlag.check(t, similarity: after, limits: p.limits))
    }

    /// The final flags: the refinement's, plus the informational ones (fallback used, cross-
    /// contrast retry, partial field of view, unconverged or disagreeing prediction).
    static func check(_ s: Prepared, _ refined: Refined, prediction: PredictionStage?, mode: RotationSearchMode,
                      usedFallback: Bool, retriedCrossContrast: Bool = false) -> [QualityFlag] {
        var flags = refined.flags
        if usedFallback { flags.append(.fallbackSearchUsed) }
        if retriedCrossContrast { flags.append(.crossContrastRetryUsed) }
        // The flag asks whether the scan images the atlas foreground at all (no margin).
        if refined.coverage < 1,
           s.finestLevel.coveredMask(atlasToScan: refined.atlasToScan, marginMM: 0).coverage < partialFieldOfViewCoverage {
            flags.append(.partialFieldOfView)
        }
        if let prediction, !prediction.converged, mode == .fallback { flags.append(.predictionUnconverged) }
        if let predicted = prediction?.atlasToScan, !usedFallback || refined.atlasToScan != predicted {
            // Disagreement: mean displacement between prediction and result over the atlas foreground box.
            let box = Pyramid.foregroundBox(s.finestLevel.atlas)
            var sum = 0.0
            for c in 0..<8 {
                let x = SIMD3(c & 1 == 0 ? box.min.x : box.max.x, c & 2 == 0 ? box.min.y : box.max.y, c & 4 == 0 ? box.min.z : box.max.z)
                sum += length(predicted.apply(x) - refined.atlasToScan.apply(x))
            }
            if sum / 8 > predictionDisagreementMM { flags.append(.predictionDisagreement) }
        }
        return flags
    }
}
