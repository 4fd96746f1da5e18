import VolumeCore

/// Reasons a registration result deserves a second look (DESIGN.md, step 6).
public enum QualityFlag: String, Sendable, Codable, CaseIterable {
    /// Final similarity below the protocol's `limits.minFinalSimilarity`.
    case lowSimilarity
    /// Determinant ≤ 0: the transform mirrors the scan.
    case flip
    /// A scale factor outside the protocol's `[minScale, maxScale]`.
    case extremeScale
    /// A shear factor beyond the protocol's `maxShear`.
    case extremeShear
    /// The network's prediction and the refined transform disagree by more than a few mm.
    case predictionDisagreement
    /// The rotation search was needed because refinement from the plain start failed its check.
    case fallbackSearchUsed
    /// The contrast probe took the scan for the atlas's contrast, that result failed its check,
    /// and the cross-contrast path ran once more (the better checked result was kept; the
    /// record's `contrast.crossContrastRetry` says which and both checked similarities).
    case crossContrastRetryUsed
    /// The network's last recurrent application still moved the scan by more than
    /// ``Registration/predictionConvergenceMM``: the scan is probably outside what the network
    /// learned, so the rotation search was run before refinement.
    case predictionUnconverged
    /// The transform is not finite or singular (never written as valid).
    case invalidTransform
    /// An input's sform and qform disagree; the sform was used (DESIGN.md).
    case headerMatricesDisagree
    /// The scan's field of view covers less than ``Registration/partialFieldOfViewCoverage`` of
    /// the atlas foreground at the result (a slab, a cut-off top of the head): the similarity was
    /// taken over the covered part only. Check the result near the edges of the scan.
    case partialFieldOfView

    /// True for flags that mean the result should not be trusted without review.
    public var isFailure: Bool {
        switch self {
        case .lowSimilarity, .flip, .extremeScale, .extremeShear, .invalidTransform: return true
        case .predictionDisagreement, .fallbackSearchUsed, .crossContrastRetryUsed, .predictionUnconverged, .headerMatricesDisagree, .partialFieldOfView:
            return false
        }
    }

    /// Checks a transform and its final similarity against a protocol's limits (against a
    /// brain atlas, not a head, with ``RegistrationProtocol/Limits/minFinalSimilarity(brainAtlas:)``).
    public static func check(_ t: Affine, similarity: Double, limits: RegistrationProtocol.Limits,
                             brainAtlas: Bool = false) -> [QualityFlag] {
        guard t.isFinite, similarity.isFinite, let d = Decomposition(t) else { return [.invalidTransform] }
        var flags: [QualityFlag] = []
        if similarity < limits.minFinalSimilarity(brainAtlas: brainAtlas) { flags.append(.lowSimilarity) }
        if d.determinant <= 0 { flags.append(.flip) }
        let s = SIMD3(abs(d.scale.x), abs(d.scale.y), abs(d.scale.z))
        if s.min() < limits.minScale || s.max() > limits.maxScale { flags.append(.extremeScale) }
        if maxAbs(d.shear) > limits.maxShear { flags.append(.extremeShear) }
        return flags
    }
}
