import VolumeCore

/// A cost-function mask: the voxels of one image (scan or atlas) that every similarity counts,
/// the searches included — the equivalent of ANTs `-x`, FLIRT `-inweight`/`-refweight` and
/// elastix `-fMask`/`-mMask`. 1 = counted, 0 = ignored; leave a lesion, tumour or resection
/// cavity out of the scan's mask to keep it out of the cost.
///
/// Built from a volume on the image's own grid (the same dims; the mask's own header geometry
/// is not used), thresholded at 0.5. Values must lie in [0, 1] (a label map or a probability
/// map scaled to 0–255 is refused rather than guessed at) and at least one voxel must be set.
public struct CostMask: Sendable {
    /// The mask as 0/1 voxels on the image's grid.
    public let volume: Volume
    /// Fraction of voxels set.
    public let fraction: Double

    /// Why a mask cannot be used (the caller adds the file's name and what to do).
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case wrongDims(mask: SIMD3<Int>, image: SIMD3<Int>)
        case notBinary(min: Float, max: Float)
        case empty

        public var description: String {
            switch self {
            case .wrongDims(let m, let i):
                return "the mask is \(m.x)×\(m.y)×\(m.z) voxels but its image is \(i.x)×\(i.y)×\(i.z); a mask must be on its image's own grid"
            case .notBinary(let lo, let hi):
                return "not a binary mask (values from \(lo) to \(hi)); give 0 for ignored and 1 for counted voxels (threshold it first, e.g. fslmaths m -bin)"
            case .empty:
                return "the mask is empty (no voxel ≥ 0.5), so nothing would be compared; a mask marks the voxels to use"
            }
        }
    }

    /// Validates `mask` for an image of grid `image`, thresholding at 0.5.
    public init(_ mask: Volume, for image: Grid) throws {
        guard mask.dims == image.dims else { throw Problem.wrongDims(mask: mask.dims, image: image.dims) }
        var lo = Float.infinity, hi = -Float.infinity
        for v in mask.voxels {
            guard v.isFinite else { throw Problem.notBinary(min: .nan, max: .nan) }
            lo = min(lo, v); hi = max(hi, v)
        }
        guard lo >= 0, hi <= 1 else { throw Problem.notBinary(min: lo, max: hi) }
        var binary = Volume(grid: image)
        var set = 0
        for n in binary.voxels.indices where mask.voxels[n] >= 0.5 { binary.voxels[n] = 1; set += 1 }
        guard set > 0 else { throw Problem.empty }
        volume = binary
        fraction = Double(set) / Double(binary.voxels.count)
    }
}
