import Network
import Sampling
import VolumeCore

/// The spatial transformer's prediction step inside `align` (DESIGN.md step 4).
///
/// The scan, seen through the initialisation `T₀` (centre of mass + translation search), and
/// the atlas are put on the model's input grid (``NetworkInputRecipe``); the network predicts a
/// normalised affine `A₁`; with more applications the scan is shown again through
/// `T₀·N·A₁·N⁻¹` and the network predicts `A₂`, and so on. The prediction is `T₀·N·A₁·A₂·…·N⁻¹`.
///
/// Recurrent application also tells whether the network is in its depth: inside the range it
/// learned, each application corrects less than the one before, and the last one moves the
/// scan by a millimetre or two; a scan outside that range (say, rotated further than the
/// network was trained for) keeps being moved. ``Prediction/lastCorrectionMM`` measures the
/// last application's move, so `align` can run the rotation search when it is large.
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

    /// What the network predicted.
    public struct Prediction: Sendable {
        /// World `atlasToScan`.
        public var atlasToScan: Affine
        /// Mean displacement (mm) made by the last application, over the corners of the central
        /// half of the frame (`u = (±½, ±½, ±½)`); nil with a single application.
        public var lastCorrectionMM: Double?
    }

    /// The prediction for raw (not normalised) `scan` and `atlas`, starting from `start`.
    /// `normalised` may hold the two already normalised with `percentiles` (registration's
    /// prepare stage has them): when those are the model's, they are used as they are (the same
    /// bits as normalising again, without the two passes over full-resolution volumes).
    public func predict(scan: Volume, atlas: Volume, start: Affine, threads: Int,
                        normalised: (scan: Volume, atlas: Volume, percentiles: [Double])? = nil) -> Prediction {
        let recipe = NetworkInputRecipe(model.input)
        let resampler: NetworkInputRecipe.Resampler = { v, g, t in resample(v, onto: g, atlasToScan: t, threads: threads) }
        let reuse = normalised.flatMap { $0.percentiles == model.input.intensityPercentiles ? $0 : nil }
        let atlasN = reuse?.atlas ?? recipe.normalise(atlas), scanN = reuse?.scan ?? recipe.normalise(scan)
        let frame = recipe.frame(forNormalisedAtlas: atlasN)
        let atlasChannel = recipe.atlasChannel(atlasN, frame: frame, resample: resampler)
        var a = Affine.identity
        var last: Double?
        // The centroid head's atlas side is the same for every application: once.
        var atlasPoints: [SIMD3<Double>]?
        for application in 0..<applications {
            let scanChannel = recipe.scanChannel(scanN, start: start, normalised: a, frame: frame, resample: resampler)
            let input = NetworkInputRecipe.tensor(scan: scanChannel, atlas: atlasChannel)
            if application == 0 { atlasPoints = network.atlasBarycentres(input, threads: threads) }
            let out = network.forward(input, atlasBarycentres: atlasPoints, threads: threads)
            let step = network.affine(outputs: out.values.map(Double.init), map: model.parameterMap)
            a = a * step
            if application > 0 { last = Self.displacementMM(step, halfExtentMM: frame.halfExtentMM) }
        }
        return Prediction(atlasToScan: frame.atlasToScan(normalised: a, start: start), lastCorrectionMM: last)
    }

    /// Mean of `h·|A·u − u|` over `u = (±½, ±½, ±½)`.
    static func displacementMM(_ a: Affine, halfExtentMM h: Double) -> Double {
        var sum = 0.0
        for c in 0..<8 {
            let u = SIMD3(c & 1 == 0 ? -0.5 : 0.5, c & 2 == 0 ? -0.5 : 0.5, c & 4 == 0 ? -0.5 : 0.5)
            sum += length(a.apply(u) - u)
        }
        return h * sum / 8
    }
}
