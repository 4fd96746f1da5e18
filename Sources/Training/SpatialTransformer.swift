import Network
import Sampling
import VolumeCore

/// The spatial transformer's grid generator and sampler on the network frame.
///
/// For a normalised affine `A` (atlas point u ↦ input point A·u, ``NetworkFrame``) the warped
/// image on the frame grid is `W(q) = I(V⁻¹·A·V·q)`, `V` = voxel → normalised. Forward and
/// backward go through the shared trilinear sampler (module Sampling, the same kernels as
/// `align`'s refinement): `∂L/∂A` from `∂L/∂W` via ``TrilinearSampler/affineGradient`` pulled
/// back through `V`; `∂L/∂I` (the image) via ``trilinearAdjoint(_:scanGrid:voxelMap:threads:)``.
public struct SpatialTransformer: Sendable {
    public let frame: NetworkFrame

    public init(frame: NetworkFrame) { self.frame = frame }

    /// The voxel-to-voxel map of `A` on the frame grid.
    public func voxelMap(_ a: Affine) -> Affine {
        let v = frame.voxelToNormalised
        return v.inverse! * a * v
    }

    /// `W = I ∘ A` and the spatial gradient of `I` at each sample point.
    public func forward(_ image: Volume, normalised a: Affine, threads: Int) -> WarpedWithGradient {
        TrilinearSampler(image).warpWithGradient(onto: image.grid, voxelMap: voxelMap(a), threads: threads)
    }

    /// `∂L/∂A` as the 12 entries of A's top rows, row by row (`L00 L01 L02 t0 L10 …`).
    public func affineGradient(_ dLdW: Volume, spatialGradient: [Float], threads: Int) -> [Double] {
        let v = frame.voxelToNormalised
        return TrilinearSampler.affineGradient(dLossdWarped: dLdW, spatialGradient: spatialGradient, threads: threads)
            .pulledBack(left: v.inverse!, right: v).rowMajor3x4
    }

    /// `∂L/∂I` for the image that was warped by `A`.
    public func imageGradient(_ dLdW: Volume, normalised a: Affine, threads: Int) -> Volume {
        trilinearAdjoint(dLdW, scanGrid: dLdW.grid, voxelMap: voxelMap(a), threads: threads)
    }
}
