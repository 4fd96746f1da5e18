import Network
import Sampling
import VolumeCore

/// The spatial transformer's prediction step inside `align` (DESIGN.md step 4).
///
/// The scan, seen through the initialisation `T₀` (centre of mass + translation search), and
/// the atlas are put on the model's input grid (``NetworkInputRecipe``); the network predicts a
/// normalised affine `A₁`; with two applications the scan is shown again through
/// `T₀·N·A₁·N⁻¹` and the network predicts `A₂`. The prediction is `T₀·N·A₁·A₂·N⁻¹`.
public struct NetworkPredictor: Sendable {
    public let model: ModelFile
    public let network: LocalizationNetwork
    /// 1 to 4 (recurrent application).
    public let applications: Int

    public init(model: ModelFile, network: LocalizationNetwork, applications: Int) {
        self.model = model
        self.network = network
        self.applications = max(1, min(4, applications))
    }

    /// The predicted `atlasToScan` for raw (not normalised) `scan` and `atlas`, starting from `start`.
    public func predict(scan: Volume, atlas: Volume, start: Affine, threads: Int) -> Affine {
        let recipe = NetworkInputRecipe(model.input)
        let resampler: NetworkInputRecipe.Resampler = { v, g, t in resample(v, onto: g, atlasToScan: t, threads: threads) }
        let atlasN = recipe.normalise(atlas), scanN = recipe.normalise(scan)
        let frame = recipe.frame(forNormalisedAtlas: atlasN)
        let atlasChannel = recipe.atlasChannel(atlasN, frame: frame, resample: resampler)
        var a = Affine.identity
        for _ in 0..<applications {
            let scanChannel = recipe.scanChannel(scanN, start: start, normalised: a, frame: frame, resample: resampler)
            let out = network.forward(NetworkInputRecipe.tensor(scan: scanChannel, atlas: atlasChannel), threads: threads)
            a = a * model.parameterMap.affine(out.values.map(Double.init))
        }
        return frame.atlasToScan(normalised: a, start: start)
    }
}
