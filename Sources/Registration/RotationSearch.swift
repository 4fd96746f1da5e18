import Foundation
import Sampling
import VolumeCore

/// Coarse exhaustive search over rotations, so that misalignments up to ±90° and beyond are
/// caught before refinement (DESIGN.md step 3).
///
/// Candidates are rotations about the atlas centre of mass by Euler angles
/// `R = Rz·Ry·Rx` on a grid `−max, −max+step, …, max` per axis (duplicates removed). Each
/// candidate maps the atlas centre to the scan centre and is scored by the similarity on the
/// search level. The best few get the FFT translation search and a brief refinement (rigid +
/// isotropic scale, at most 30 iterations of the protocol's optimiser); the best refined one wins.
enum RotationSearch {
    struct Outcome {
        var best: Affine
        var candidatesTried: Int
        /// The best refined candidate's score on the search measure.
        var bestScore: Double
        /// The other refined candidates after their brief refinement, best score first (the
        /// basin stage's further starts, ``BasinStage``).
        var runnersUp: [Affine] = []
    }

    /// Distinct rotation matrices of the Euler grid (entries compared to 1e-6).
    static func candidates(maxDegrees: Double, stepDegrees: Double) -> [Matrix3] {
        var angles: [Double] = []
        var a = -maxDegrees
        while a <= maxDegrees + 1e-9 { angles.append(a); a += stepDegrees }
        if !angles.contains(where: { abs($0) < 1e-9 }) { angles.append(0) }
        var out: [Matrix3] = []
        for z in angles {
            for y in angles {
                for x in angles {
                    let r = Decomposition.rotationMatrix(degrees: SIMD3(x, y, z))
                    if !out.contains(where: { Matrix3.maxAbsDifference($0, r) < 1e-6 }) { out.append(r) }
                }
            }
        }
        return out
    }

    /// `extraCandidates` (e.g. the network's prediction) are refined like the best rotations
    /// and compete with them; `skipping` leaves out that many of the best-scoring rotations (a
    /// second search takes the next ranks).
    /// Rotations refined after scoring (the best by the search measure).
    static let refinedCandidates = 4

    /// The brief refinement's convergence tolerance, in multiples of the level's (protocol
    /// `convergenceMM` scaled to the search spacing): it only ranks candidates, and the winner
    /// is refined again on the same level to the full tolerance.
    static let briefConvergenceFactor = 5.0

    static func run(level: WorkingLevel, atlasCentre: SIMD3<Double>, scanCentre: SIMD3<Double>, start: Affine,
                    extraCandidates: [Affine] = [], radiusMM: Double, settings p: RegistrationProtocol, useTranslationSearch: Bool,
                    refined: Int = refinedCandidates, skipping: Int = 0, threads: Int) -> Outcome {
        let rotations = candidates(maxDegrees: p.initialisation.rotationSearchMaxDegrees,
                                   stepDegrees: p.initialisation.rotationSearchStepDegrees)
        // Keep start's linear part (identity unless a caller started elsewhere) and rotate about the atlas centre.
        var scored: [(score: Double, t: Affine)] = []
        for r in rotations {
            let lin = start.linear * r
            let t = Affine(linear: lin, translation: scanCentre - lin * atlasCentre)
            let score = Refinement.similarity(level: level, atlasToScan: t, threads: threads, kind: p.initialisation.searchSimilarity)
            scored.append((score.isFinite ? score : -2, t))
        }
        // Stable order: by score, then by candidate index (sort is stable on equal keys here via index).
        let order = scored.indices.sorted { scored[$0].score != scored[$1].score ? scored[$0].score > scored[$1].score : $0 < $1 }
        let keep = order.dropFirst(min(skipping, max(0, order.count - 1))).prefix(max(1, refined))
        let model: TransformModel = p.transform == .rigid ? .rigid : .similarity
        var starts: [Affine] = []
        let translations = useTranslationSearch
            ? TranslationSearch.Prepared(level: level, features: p.initialisation.translationSearchFeatures, threads: threads) : nil
        for idx in keep {
            var t = scored[idx].t
            if let s = translations?.best(start: t, scoredBy: p.initialisation.searchSimilarity, threads: threads) {
                t = s.atlasToScan
            }
            starts.append(t)
        }
        starts += extraCandidates
        let refinedScored: [(score: Double, t: Affine)] = starts.map { t in
            let r = Refinement.run(level: level, start: t, centre: atlasCentre, radiusMM: radiusMM,
                                   model: model, iterations: 30, learningRate: p.learningRate, optimizer: p.optimizer,
                                   convergenceMM: briefConvergenceFactor * p.convergenceMM(atSpacing: level.spacingMM), threads: threads)
            // Refinement ran on the level's own measure; candidates compete on the search measure.
            let score = level.similarity == p.initialisation.searchSimilarity ? r.similarityEnd
                : Refinement.similarity(level: level, atlasToScan: r.atlasToScan, threads: threads, kind: p.initialisation.searchSimilarity)
            return (score, r.atlasToScan)
        }
        // By score, ties in the order refined (the first of equal scores is the best); a score
        // that is not above −∞ (NaN included) never ranks, so with none the start stays.
        let ranked = refinedScored.indices.filter { refinedScored[$0].score > -.infinity }.sorted {
            refinedScored[$0].score != refinedScored[$1].score ? refinedScored[$0].score > refinedScored[$1].score : $0 < $1
        }.map { refinedScored[$0] }
        guard let best = ranked.first else { return Outcome(best: start, candidatesTried: rotations.count, bestScore: -.infinity) }
        return Outcome(best: best.t, candidatesTried: rotations.count, bestScore: best.score,
                       runnersUp: ranked.dropFirst().map(\.t).filter { $0 != best.t })
    }
}
