import VolumeCore

/// A similarity between the warped scan and the atlas, with its gradient per warped voxel.
///
/// **Convention.** Higher is more similar (a loss is its negative). `warped` is the scan
/// resampled onto the atlas grid (DESIGN.md: `warped(x) = scan(T·x)`), so `warped`, the
/// atlas voxels and `mask` all have `atlas.grid.voxelCount` values, `i` fastest.
/// `gradient[n] = ∂value/∂warped[n]`; the registration chains it through the sampler.
/// `mask` holds weights ≥ 0 on the atlas grid (`nil` = every voxel, weight 1).
public protocol SimilarityMeasure: Sendable {
    associatedtype Prepared: PreparedSimilarity

    /// Precomputes everything that depends on the atlas and mask only, for repeated
    /// evaluations against the same atlas (refinement calls it hundreds of times).
    func prepare(atlas: Volume, mask: [Float]?) -> Prepared

    /// Value and ∂value/∂warped in one call. The default prepares the atlas each time;
    /// prefer ``prepare(atlas:mask:)`` when the atlas is reused.
    func evaluate(warped: [Float], atlas: Volume, mask: [Float]?) -> (value: Double, gradient: [Float])
}

extension SimilarityMeasure {
    public func evaluate(warped: [Float], atlas: Volume, mask: [Float]?) -> (value: Double, gradient: [Float]) {
        prepare(atlas: atlas, mask: mask).evaluate(warped: warped)
    }
}

/// A similarity with the atlas side precomputed.
public protocol PreparedSimilarity: Sendable {
    /// Value and ∂value/∂warped (same conventions as ``SimilarityMeasure``).
    func evaluate(warped: [Float]) -> (value: Double, gradient: [Float])
}
