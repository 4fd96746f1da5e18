import VolumeCore

/// The three orthogonal slice planes of a voxel grid.
///
/// Slices are taken along the voxel axes (no resampling) and shown with the higher index of
/// the vertical axis at the top: axial = plane k (i across, j up), coronal = plane j (i
/// across, k up), sagittal = plane i (j across, k up). On a RAS-ordered atlas this is the usual
/// radiological-free "neurological" view (right on the right) with superior/anterior up.
public enum SlicePlane: String, Sendable, CaseIterable {
    case axial, coronal, sagittal

    /// Extracts the plane at `index` (default: the middle slice) of `volume`.
    public func slice(of volume: Volume, at index: Int? = nil) -> GrayImage {
        let d = volume.dims
        switch self {
        case .axial:
            let k = clamp(index ?? d.z / 2, d.z)
            return GrayImage(width: d.x, height: d.y, values: (0..<(d.x * d.y)).map { n in
                volume[n % d.x, d.y - 1 - n / d.x, k]
            })
        case .coronal:
            let j = clamp(index ?? d.y / 2, d.y)
            return GrayImage(width: d.x, height: d.z, values: (0..<(d.x * d.z)).map { n in
                volume[n % d.x, j, d.z - 1 - n / d.x]
            })
        case .sagittal:
            let i = clamp(index ?? d.x / 2, d.x)
            return GrayImage(width: d.y, height: d.z, values: (0..<(d.y * d.z)).map { n in
                volume[i, n % d.y, d.z - 1 - n / d.y]
            })
        }
    }

    private func clamp(_ v: Int, _ n: Int) -> Int { min(max(v, 0), n - 1) }
}
