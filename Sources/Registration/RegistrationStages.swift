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
        /// The atlas's filled foreground on the search level (litres; ``HeadShell``).
        var atlasLitres: Double
        /// True when the atlas is a brain, not a head (``HeadShell/atlasIsABrain(foregroundLitres:)``):
        /// it decides the remap and the check's minimum.
        var atlasIsABrain: Bool { HeadShell.atlasIsABrain(foregroundLitres: atlasLitres) }
        /// True on the cross-contrast path with `contrast.intensityRemap` `atlas`: the levels
        /// after the first run against the remapped atlas (``IntensityRemap``).
        var remapsFinerLevels = false
        /// `contrast.intensityRemapMinCorrelationRatio` on that path.
        var remapMinCorrelationRatio = 0.0
        /// Why the remap asked for does not run (an atlas with a head), for the progress line.
        var remapRefusal: String?
        /// True when the search level and the coarsest level hold the atlas with the head shell
        /// (``withHeadShell()``).
        var headShelled = false
        /// The basin stage on this path (``BasinStage``): on the head shell's path with
        /// `contrast.basinSimilarity` set (``withHeadShell()``); nil elsewhere.
        var basin: BasinStage.Settings?

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
            p.remapMinCorrelationRatio = c.intensityRemapMinCorrelationRatio
            if c.intensityRemap == .atlas {
                // Only against a brain atlas (``IntensityRemap``).
                p.remapsFinerLevels = atlasIsABrain
                if !p.remapsFinerLevels { p.remapRefusal = String(format: "atlas not remapped: it holds a head (foreground %.1f L), not a brain", atlasLitres) }
            }
            return p
        }

        /// This path with the search level and the coarsest refinement level against the
        /// normalised atlas with a synthetic head (``HeadShell``); the finer levels unchanged.
        func withHeadShell() -> Prepared {
            let shell = HeadShell.build(atlas: normalised.atlas, threads: threads)
            var p = self
            for s in Set([searchSpacingMM, settings.levels[0].spacingMM]).sorted() {
                p.pyramid = p.pyramid.replacing(s, with: HeadShell.level(shell, replacing: pyramid[s], threads: threads))
            }
            p.headShelled = true
            if let c = settings.contrast, let kind = c.basinSimilarity {
                p.basin = .init(similarity: kind, levels: c.basinLevels, toleranceMM: c.basinToleranceMM)
            }
            return p
        }

        /// Normalised gradient fields of the scan at `atlasToScan` against the atlas with the head
        /// shell, on the search level (over the head within the scan's field of view), when this
        /// path has the shell; nil
        /// otherwise. It chooses between two results of a scan with skull against a
        /// skull-stripped atlas: the checked similarity (the plain atlas, over its brain) cannot,
        /// since it scores the atlas brain fitted to the whole head about as high as the brain
        /// in the head (a real b0 rotated in its header six ways, the build before the head
        /// shell: the five results 8.6 mm off the head-with-skull proxy checked 0.0853–0.0865,
        /// the two right ones 0.0849–0.0852), and neither can normalised MI against the shelled
        /// atlas, which it replaced: it ranked a real T2 slab's whole head fitted into the atlas
        /// brain (0.138) above the brain in the head (0.089; an experimental build not kept:
        /// README, "A scan with skull, another contrast, a skull-stripped atlas").
        func headShellSimilarity(_ atlasToScan: Affine) -> Double? {
            guard headShelled else { return nil }
            return Refinement.similarity(level: searchLevel, atlasToScan: atlasToScan, threads: threads, kind: .ngf)
        }

        /// ``headShellSimilarity(_:)`` of two results, when this path has the shell.
        func headShellSimilarities(_ a: Refined, _ b: Refined) -> (a: Double, b: Double)? {
            guard let sa = headShellSimilarity(a.atlasToScan), let sb = headShellSimilarity(b.atlasToScan) else { return nil }
            return (sa, sb)
        }

        /// True when `a` scores above `b` (``Registration/scoresAbove(_:_:headShell:)``, with
        /// this path's ``headShellSimilarities(_:_:)``).
        func scores(_ a: Refined, above b: Refined) -> Bool {
            Registration.scoresAbove(a, b, headShell: headShellSimilarities(a, b))
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
        /// The winner's search-measure score on the search level after its brief refinement
        /// (comparable between two searches on the same measure).
        var score: Double
        /// The search's other refined candidates, best first (``RotationSearch/Outcome/runnersUp``).
        var runnersUp: [Affine] = []
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
        /// What the basin stage did, on a path that has one (``BasinStage``).
        var basin: BasinOutcome? = nil
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
        let atlasN = ImagePreparation.robustNormalise(request.atlas, percentiles: pct, threads: threads).volume
        let scanN = ImagePreparation.robustNormalise(request.scan, percentiles: pct, threads: threads).volume
        guard let atlasCentre = ImagePreparation.centreOfMass(atlasN, threads: threads) else {
            throw RegistrationError("the atlas has no foreground (every voxel is at its minimum); check the atlas file")
        }
        guard let scanCentre = ImagePreparation.centreOfMass(scanN, threads: threads) else {
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
                        summary: "prepared \(p.levels.count) levels (\(names)\(skippedNote))",
                        atlasLitres: HeadShell.filledForegroundLitres(pyramid[searchSpacing].atlas))
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
    /// refinement (the probe refines one, a full search ``RotationSearch/refinedCandidates``),
    /// from rank `skipping` on (a second search on the same measure takes the next ones; it
    /// leaves the prediction out, which the first search refined).
    static func search(_ s: Prepared, from initialisation: Affine, prediction: PredictionStage?,
                       kind: SimilarityKind? = nil, refined: Int = RotationSearch.refinedCandidates,
                       skipping: Int = 0) -> SearchWinner {
        var settings = s.settings
        if let kind { settings.initialisation.searchSimilarity = kind }
        let extra = skipping > 0 ? [] : prediction?.atlasToScan.map { [$0] } ?? []
        let r = RotationSearch.run(level: s.searchLevel, atlasCentre: s.atlasCentre, scanCentre: s.scanCentre,
                                   start: initialisation, extraCandidates: extra,
                                   radiusMM: s.radiusMM, settings: settings,
                                   useTranslationSearch: s.settings.initialisation.translationSearch, refined: refined,
                                   skipping: skipping, threads: s.threads)
        return SearchWinner(atlasToScan: r.best, candidatesTried: r.candidatesTried, score: r.bestScore, runnersUp: r.runnersUp)
    }

    /// A second rotation search after a failed check: its measure and the ranks it skips.
    struct SearchRetry: Equatable {
        var kind: SimilarityKind
        var skipping: Int
    }

    /// The second rotation search after a failed check, or nil for none: in `fallback` mode
    /// the protocol's search measure when no search ran yet; global NCC when the first search
    /// was scored on another measure (the cross-contrast path's MI); when it was scored on NCC,
    /// NCC again over the next ``RotationSearch/refinedCandidates`` ranks (a Colin27 scan with
    /// skull, its top 30 % cut off and rotated 69°, ranked the rotation that registers it 6th
    /// and ended 42 mm off, flagged; README), whose winner is refined only when it outscores the
    /// first search's on the search level (so a scan that fails its check for another reason,
    /// such as a contrast the probe took for the atlas's, pays the four brief refinements, not
    /// a whole registration). The checked similarity (on the head shell's path
    /// ``Prepared/headShellSimilarity(_:)``) then picks between the two results.
    static func retrySearch(_ s: Prepared, mode: RotationSearchMode, searched: Bool) -> SearchRetry? {
        let first = s.settings.initialisation.searchSimilarity
        if mode == .fallback && !searched { return .init(kind: first, skipping: 0) }
        guard searched else { return nil }
        return first != .ncc ? .init(kind: .ncc, skipping: 0) : .init(kind: .ncc, skipping: RotationSearch.refinedCandidates)
    }

    /// Refinement coarse to fine from `start` (skipped when `enabled` is false), then the checked
    /// similarity at the finest level and the protocol's quality flags. On a path with a basin
    /// stage (``BasinStage``) the stage runs from the same start (and, when the levels leave its
    /// result, from `basinAlsoFrom`: the network's prediction and the search's runners-up) and
    /// may give the result instead.
    static func refine(_ s: Prepared, from start: Affine, basinAlsoFrom others: BasinStage.Starts = .init(), enabled: Bool,
                       progress: (@Sendable (String) -> Void)?) -> Refined {
        let p = s.settings
        var (t, reports) = enabled ? levels(s, from: start, progress: progress) : (start, [])
        var basin: BasinOutcome?
        if enabled, let settings = s.basin {
            let choice = BasinStage.choose(s, settings, start: start, alsoFrom: others, levels: (t, reports), progress: progress)
            (t, reports, basin) = (choice.atlasToScan, choice.levels, choice.outcome)
        }
        let (after, coverage) = Refinement.checkedSimilarity(level: s.finestLevel, atlasToScan: t, measure: p.limits.checkMeasure,
                                                             threads: s.threads)
        return Refined(atlasToScan: t, levels: reports, similarity: after, coverage: coverage,
                       flags: QualityFlag.check(t, similarity: after, limits: p.limits), basin: basin)
    }

    /// The protocol's levels, coarse to fine, from `start`, each on its own measure (on the
    /// cross-contrast path the finer ones against the remapped atlas where it applies); with
    /// `measure`, the first `count` levels only, every one re-prepared for that measure and none
    /// remapped (the basin stage, ``BasinStage``); `convergenceFactor` multiplies each level's
    /// convergence tolerance.
    static func levels(_ s: Prepared, from start: Affine, measure: SimilarityKind? = nil, count: Int? = nil,
                       convergenceFactor: Double = 1,
                       progress: (@Sendable (String) -> Void)?) -> (Affine, [LevelReport]) {
        let p = s.settings
        var t = start
        var reports: [LevelReport] = []
        let firstSpacing = p.levels[0].spacingMM
        for (n, level) in p.levels.prefix(count ?? p.levels.count).enumerated() {
            let clock = Stopwatch()
            let lr = p.learningRate * level.spacingMM / firstSpacing
            var working = s.pyramid[level.spacingMM]
            var remap: IntensityRemap.Outcome?
            let name = measure.map { "basin, level \(formatMM(level.spacingMM)) mm (\($0.rawValue))" } ?? "level \(formatMM(level.spacingMM)) mm"
            if let measure { working = working.optimising(measure, threads: s.threads) }
            if measure == nil, n == 1, let why = s.remapRefusal { progress?("level \(formatMM(level.spacingMM)) mm: " + why) }
            if measure == nil, s.remapsFinerLevels && n > 0 {
                remap = IntensityRemap.remapped(working, atlasToScan: t, minCorrelationRatio: s.remapMinCorrelationRatio, threads: s.threads)
                if let r = remap {
                    if let l = r.level { working = l }
                    progress?(String(format: "level %@ mm: ", formatMM(level.spacingMM))
                        + (r.level != nil ? String(format: "windowed NCC against the atlas remapped into the scan's contrast (η² %.2f)", r.correlationRatio)
                            : String(format: "atlas not remapped (η² %.2f, minimum %.2f; field of view %.2f, minimum %.2f)",
                                     r.correlationRatio, s.remapMinCorrelationRatio, r.coverage, IntensityRemap.minimumCoverage)))
                }
            }
            let r = Refinement.run(level: working, start: t, centre: s.atlasCentre, radiusMM: s.radiusMM,
                                   model: p.transform, iterations: level.iterations, learningRate: lr,
                                   optimizer: p.optimizer, convergenceMM: convergenceFactor * p.convergenceMM(atSpacing: level.spacingMM),
                                   threads: s.threads)
            t = r.atlasToScan
            reports.append(LevelReport(spacingMM: level.spacingMM, iterations: r.iterations,
                                       evaluations: r.evaluations, stopReason: r.stopReason,
                                       similarityMeasure: working.similarity,
                                       atlasRemapped: remap?.level != nil, atlasRemapCorrelationRatio: remap?.correlationRatio,
                                       similarityStart: r.similarityStart, similarityEnd: r.similarityEnd,
                                       seconds: clock.total))
            progress?("\(name): similarity \(String(format: "%.4f", r.similarityStart)) → \(String(format: "%.4f", r.similarityEnd)) in \(r.iterations) iterations (\(r.stopReason.rawValue))")
        }
        return (t, reports)
    }

    /// The final flags: the refinement's, plus the informational ones (fallback used, cross-
    /// contrast retry, partial field of view, unconverged or disagreeing prediction).
    static func check(_ s: Prepared, _ refined: Refined, prediction: PredictionStage?, mode: RotationSearchMode,
                      usedFallback: Bool, retriedCrossContrast: Bool = false) -> [QualityFlag] {
        // `refined.flags` hold the check at `minFinalSimilarity` whatever the atlas: the retries
        // (a second search, the cross-contrast retry) and the choice between two results still
        // start there. The reported flags apply the atlas's own minimum (against a brain atlas,
        // `minFinalSimilarityBrainAtlas`), so only the flag changes, not the transform.
        var flags = QualityFlag.check(refined.atlasToScan, similarity: refined.similarity, limits: s.settings.limits,
                                      brainAtlas: s.atlasIsABrain)
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
            let box = Pyramid.foregroundBox(s.finestLevel.atlas, threads: s.threads)
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
