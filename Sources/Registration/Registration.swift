import Foundation
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

    public init(scan: Volume, atlas: Volume, settings: RegistrationProtocol,
                threads: Int = ThreadPolicy.defaultThreadCount, rotationSearch: RotationSearchMode? = nil,
                predictor: NetworkPredictor? = nil, refine: Bool = true) {
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
    public var iterations: Int
    /// Similarity at the level's start and end (on that level's grid).
    public var similarityStart: Double
    public var similarityEnd: Double
    public var seconds: Double
}

/// The outcome of a registration.
public struct RegistrationResult: Sendable, Codable {
    /// World (RAS+ mm) map from atlas points to scan points: `warped(x) = scan(T·x)`.
    public var atlasToScan: Affine
    /// The transform after initialisation (centre of mass, searches), before refinement.
    public var initialAtlasToScan: Affine
    /// The network's prediction (nil without a network).
    public var predictedAtlasToScan: Affine?
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
    public var flags: [QualityFlag]
    public var levels: [LevelReport]
    /// Rotation candidates tried by the search (0 when it did not run).
    public var rotationCandidatesTried: Int
    /// Seconds per stage: prepare, initialise, search, refine, total.
    public var timings: [String: Double]
    public var threads: Int
}

/// Errors that stop a registration (bad images rather than bad luck; bad luck is a flag).
public struct RegistrationError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The registration pipeline (DESIGN.md steps 2–6): prepare, initialise, search, refine, check.
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
    public static func register(_ request: RegistrationRequest,
                                progress: (@Sendable (String) -> Void)? = nil) throws -> RegistrationResult {
        var clock = Stopwatch()
        var timings: [String: Double] = [:]
        var p = request.settings
        let threads = max(1, request.threads)
        // A single slice (2D) or a one-voxel-thick volume leaves the affine unconstrained along
        // that axis: refuse it rather than return an arbitrary, unflagged transform.
        for (name, v) in [("scan", request.scan), ("atlas", request.atlas)] where v.dims.min() < 2 {
            throw RegistrationError("the \(name) is \(v.dims.x)×\(v.dims.y)×\(v.dims.z) voxels (a single slice or one voxel thick); 3D registration needs at least 2 voxels along every axis")
        }

        // 1. Prepare: robust normalisation and the pyramid (without levels finer than the images).
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
        let spacings = p.levels.map(\.spacingMM) + [searchSpacing]
        let pyramid = Pyramid(atlas: atlasN, scan: scanN, spacings: spacings,
                              similarity: { s in p.levels.first(where: { $0.spacingMM == s })?.similarity ?? p.similarity },
                              lnccRadius: p.lnccRadius, threads: threads)
        let radius = max(10, ImagePreparation.radiusOfGyration(pyramid[searchSpacing].atlas, centre: atlasCentre))
        timings["prepare"] = clock.lap()
        let skippedNote = skipped.isEmpty ? ""
            : "; skipped \(skipped.map { "\(formatMM($0.spacingMM)) mm" }.joined(separator: ", ")), finer than the \(formatMM(Registration.coarserVoxelMM(scan: request.scan.grid, atlas: request.atlas.grid))) mm voxels"
        progress?("prepared \(p.levels.count) levels (\(p.levels.map { "\(formatMM($0.spacingMM)) mm" }.joined(separator: ", "))\(skippedNote))")

        // 2. Initialise: centre of mass, then translation search.
        var start = Affine.identity
        if p.initialisation.centreOfMass {
            start = Affine.translation(scanCentre - atlasCentre)
        }
        let search = pyramid[searchSpacing]
        if p.initialisation.translationSearch {
            start = TranslationSearch.best(level: search, start: start, threads: threads)?.atlasToScan ?? start
        }
        timings["initialise"] = clock.lap()

        // 3. Network prediction, or the rotation search (always, or as a fallback after a failed check).
        var predicted: Affine?
        var lastCorrection: Double?
        var unconverged = false
        // The search always starts from the initialisation, never from a prediction.
        let initialisation = start
        if let predictor = request.predictor {
            let prediction = predictor.predict(scan: request.scan, atlas: request.atlas, start: start, threads: threads)
            let t = prediction.atlasToScan
            lastCorrection = prediction.lastCorrectionMM
            if t.isFinite, t.inverse != nil {
                predicted = t
                start = t
                unconverged = (prediction.lastCorrectionMM ?? 0) > Registration.predictionConvergenceMM
            } else {
                unconverged = true
            }
            timings["predict"] = clock.lap()
            progress?("network prediction (\(predictor.applications)×)")
        }
        // With a network, the protocol still decides: `always` lets the prediction compete with the
        // search's best rotations (robust: never worse than the search); `fallback` trusts the
        // prediction and searches only when the check after refinement fails.
        let mode = request.rotationSearch ?? p.initialisation.rotationSearch
        var candidatesTried = 0
        var usedFallback = false
        func searchRotations() -> Affine {
            let r = RotationSearch.run(level: search, atlasCentre: atlasCentre, scanCentre: scanCentre,
                                       start: initialisation, extraCandidates: predicted.map { [$0] } ?? [],
                                       radiusMM: radius, settings: p,
                                       useTranslationSearch: p.initialisation.translationSearch, threads: threads)
            candidatesTried = r.candidatesTried
            return r.best
        }
        var initial = start
        var searched = false
        if mode == .always || (mode == .fallback && unconverged) {
            initial = searchRotations()
            searched = true
            progress?("rotation search: \(candidatesTried) candidates")
        }
        timings["search"] = clock.lap()

        // 4. Refine coarse to fine.
        var (result, reports) = request.refine
            ? refineAllLevels(from: initial, pyramid: pyramid, centre: atlasCentre,
                              radius: radius, settings: p, threads: threads, progress: progress)
            : (initial, [])
        let finest = pyramid[p.levels.last!.spacingMM]
        var (after, coverage) = Refinement.checkedSimilarity(level: finest, atlasToScan: result, threads: threads)
        var flags = QualityFlag.check(result, similarity: after, limits: p.limits)
        timings["refine"] = clock.lap()
        if mode == .fallback && !searched && flags.contains(where: \.isFailure) {
            let found = searchRotations()
            timings["search", default: 0] += clock.lap()
            progress?("check failed; rotation search: \(candidatesTried) candidates")
            let (r2, reports2) = request.refine
                ? refineAllLevels(from: found, pyramid: pyramid, centre: atlasCentre,
                                  radius: radius, settings: p, threads: threads, progress: progress)
                : (found, [])
            let (after2, coverage2) = Refinement.checkedSimilarity(level: finest, atlasToScan: r2, threads: threads)
            usedFallback = true
            if after2 > after {
                result = r2; reports = reports2; after = after2; initial = found; coverage = coverage2
                flags = QualityFlag.check(result, similarity: after, limits: p.limits)
            }
            timings["refine", default: 0] += clock.lap()
        }
        if usedFallback { flags.append(.fallbackSearchUsed) }
        // The flag asks whether the scan images the atlas foreground at all (no margin).
        if coverage < 1, finest.coveredMask(atlasToScan: result, marginMM: 0).coverage < Registration.partialFieldOfViewCoverage {
            flags.append(.partialFieldOfView)
        }
        if unconverged && mode == .fallback { flags.append(.predictionUnconverged) }
        if let pr = predicted, !usedFallback || result != pr {
            // Disagreement: mean displacement between prediction and result over the atlas foreground box.
            let box = Pyramid.foregroundBox(finest.atlas)
            var sum = 0.0
            for c in 0..<8 {
                let x = SIMD3(c & 1 == 0 ? box.min.x : box.max.x, c & 2 == 0 ? box.min.y : box.max.y, c & 4 == 0 ? box.min.z : box.max.z)
                sum += length(pr.apply(x) - result.apply(x))
            }
            if sum / 8 > Registration.predictionDisagreementMM { flags.append(.predictionDisagreement) }
        }

        let before = Refinement.similarity(level: finest, atlasToScan: .identity, threads: threads)
        timings["total"] = clock.total
        return RegistrationResult(atlasToScan: result, initialAtlasToScan: initial, predictedAtlasToScan: predicted,
                                  predictionLastCorrectionMM: lastCorrection,
                                  similarityBefore: before, similarityAfter: after, flags: flags,
                                  levels: reports, rotationCandidatesTried: candidatesTried,
                                  timings: timings, threads: threads)
    }

    /// A level finer than this fraction of the coarser image's voxel size is skipped.
    public static let finestLevelFraction = 0.8

    /// Voxel size (mm) of the coarser of the two images: the geometric mean of each image's
    /// three spacings (a 1×1×5 mm scan counts as 1.7 mm), the larger of the two.
    public static func coarserVoxelMM(scan: Grid, atlas: Grid) -> Double {
        func mean(_ g: Grid) -> Double { let s = g.spacingMM; return Foundation.pow(s.x * s.y * s.z, 1.0 / 3) }
        return max(mean(scan), mean(atlas))
    }

    /// The protocol's levels without those finer than ``finestLevelFraction`` × the coarser
    /// image's voxel size (they would only interpolate: a 2 mm level for two 3.5 mm frames cost
    /// 60 % of the time and added nothing), and the skipped ones. The first (coarsest) level is
    /// always kept.
    public static func levels(_ levels: [RegistrationProtocol.Level], scan: Grid, atlas: Grid)
        -> (kept: [RegistrationProtocol.Level], skipped: [RegistrationProtocol.Level]) {
        let limit = finestLevelFraction * coarserVoxelMM(scan: scan, atlas: atlas)
        var kept: [RegistrationProtocol.Level] = [], skipped: [RegistrationProtocol.Level] = []
        for (n, level) in levels.enumerated() {
            if n == 0 || level.spacingMM >= limit { kept.append(level) } else { skipped.append(level) }
        }
        return (kept, skipped)
    }

    static func refineAllLevels(from start: Affine, pyramid: Pyramid, centre: SIMD3<Double>, radius: Double,
                                settings p: RegistrationProtocol, threads: Int,
                                progress: (@Sendable (String) -> Void)?) -> (Affine, [LevelReport]) {
        var t = start
        var reports: [LevelReport] = []
        let firstSpacing = p.levels[0].spacingMM
        for level in p.levels {
            let clock = Stopwatch()
            let lr = p.learningRate * level.spacingMM / firstSpacing
            let r = Refinement.run(level: pyramid[level.spacingMM], start: t, centre: centre, radiusMM: radius,
                                   model: p.transform, iterations: level.iterations, learningRate: lr, threads: threads)
            t = r.atlasToScan
            reports.append(LevelReport(spacingMM: level.spacingMM, iterations: r.iterations,
                                       similarityStart: r.similarityStart, similarityEnd: r.similarityEnd,
                                       seconds: clock.total))
            progress?("level \(formatMM(level.spacingMM)) mm: similarity \(String(format: "%.4f", r.similarityStart)) → \(String(format: "%.4f", r.similarityEnd)) in \(r.iterations) iterations")
        }
        return (t, reports)
    }
}

func formatMM(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.2g", v) }

/// Wall-clock laps in seconds.
struct Stopwatch {
    private let begin = DispatchTime.now().uptimeNanoseconds
    private var last = DispatchTime.now().uptimeNanoseconds
    /// Seconds since the previous lap (or the start).
    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
    var total: Double { Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9 }
}
