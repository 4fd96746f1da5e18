import VolumeCore

/// How the network's input is made from a scan and an atlas — one recipe for training and
/// prediction, so that both see exactly the same kind of image.
///
/// 1. Both images are normalised robustly (``ModelFile/Input/intensityPercentiles``).
/// 2. The frame is the ``NetworkFrame`` covering the normalised atlas foreground box.
/// 3. Channel 1 is the atlas on the frame grid; channel 0 the scan seen through the start
///    transform `T₀`: `input(u) = scan(T₀·N·u)`.
///
/// Resampling is passed in (`resample(volume, grid, atlasToScan)`) so that this module does
/// not depend on the sampler.
public struct NetworkInputRecipe: Sendable {
    public var input: ModelFile.Input

    public init(_ input: ModelFile.Input) { self.input = input }

    public typealias Resampler = (Volume, Grid, Affine) -> Volume

    /// Normalises intensities as the model expects.
    public func normalise(_ v: Volume) -> Volume {
        let p = input.intensityPercentiles
        return ImagePreparation.robustNormalise(v, percentiles: (p[0], p[1])).volume
    }

    /// The frame for a (normalised) atlas.
    public func frame(forNormalisedAtlas atlas: Volume) -> NetworkFrame {
        let box = ImagePreparation.foregroundBox(atlas, threshold: Float(input.foregroundThreshold), marginMM: input.marginMM)
        return NetworkFrame(gridSize: input.gridSize, covering: box)
    }

    /// The (normalised) atlas on the frame grid.
    public func atlasChannel(_ atlas: Volume, frame: NetworkFrame, resample: Resampler) -> Volume {
        resample(atlas, frame.grid, .identity)
    }

    /// The (normalised) scan seen through `start`, then through a normalised affine `a`
    /// (identity for prediction; a random perturbation in training): `scan(T₀·N·a·u)`.
    public func scanChannel(_ scan: Volume, start: Affine, normalised a: Affine = .identity, frame: NetworkFrame,
                            resample: Resampler) -> Volume {
        resample(scan, frame.grid, frame.atlasToScan(normalised: a, start: start))
    }

    /// A (1, 2, g, g, g) tensor from the two channels.
    public static func tensor(scan: Volume, atlas: Volume) -> Tensor5 {
        let g = scan.dims
        precondition(g == atlas.dims && g.x == g.y && g.y == g.z, "network channels must share one cubic grid")
        return Tensor5(shape: TensorShape5(batch: 1, channels: 2, depth: g.z, height: g.y, width: g.x),
                       values: scan.voxels + atlas.voxels)
    }

    /// Stacks (1, C, …) tensors into one batch.
    public static func batch(_ items: [Tensor5]) -> Tensor5 {
        precondition(!items.isEmpty && items.allSatisfy { $0.shape.batch == 1 && $0.shape.itemCount == items[0].shape.itemCount })
        var s = items[0].shape
        s.batch = items.count
        return Tensor5(shape: s, values: items.flatMap(\.values))
    }
}
