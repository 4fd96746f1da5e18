import Foundation
import Network
import Registration
import VolumeCore

/// The steps `align` and the series job share: load the protocol's spatial transformer, and
/// register two volumes already in memory (checked, so that an invalid transform is never written).
extension AlignJob {
    /// The protocol's network predictor and the model's reference (path, SHA-256), or nils
    /// when `useNetwork` is false or the protocol has no `network` section.
    static func loadPredictor(_ settings: RegistrationProtocol, protocolPath: String, useNetwork: Bool) throws
        -> (predictor: NetworkPredictor?, model: TransformRecord.ModelRef?) {
        guard useNetwork, let n = settings.network else { return (nil, nil) }
        let loaded = try loadModel(n, protocolPath: protocolPath)
        if let t = settings.training, let d = t.disagreement(with: loaded.model) {
            throw AlignError(modelDisagreement(d, protocolPath: protocolPath, modelPath: loaded.path))
        }
        return (NetworkPredictor(model: loaded.model, network: loaded.network, applications: n.applications),
                .init(path: loaded.path, sha256: loaded.sha256))
    }

    /// The one-line error for a protocol whose `training` section contradicts its model file
    /// (the network always comes from the model file; see
    /// ``RegistrationProtocol/TrainingSettings/disagreement(with:)``).
    static func modelDisagreement(_ d: RegistrationProtocol.TrainingSettings.ModelDisagreement,
                                  protocolPath: String, modelPath: String) -> String {
        "\(protocolPath): key 'training.\(d.key)' is \(d.protocolValue) but its model \(modelPath) was trained with \(d.modelValue); "
            + "the network comes from the model file, so make the protocol's 'training' section match the model, "
            + "or train a model with these settings (`stnreg train`) and point 'network.model' at it"
    }

    /// Registers `scan` to `atlas` (``Registration/register(_:progress:)``) and checks that the
    /// transform is finite and invertible. `context` names the pair in errors (e.g. `scan → atlas`).
    /// The result is identical for every thread count.
    static func registerVolumes(scan: Volume, atlas: Volume, settings: RegistrationProtocol, predictor: NetworkPredictor?,
                                threads: Int, rotationSearch: RotationSearchMode?, refine: Bool,
                                scanMask: CostMask? = nil, atlasMask: CostMask? = nil, context: String,
                                progress: (@Sendable (String) -> Void)?) throws -> RegistrationResult {
        let result: RegistrationResult
        do {
            result = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: settings, threads: threads,
                                                                   rotationSearch: rotationSearch, predictor: predictor, refine: refine,
                                                                   scanMask: scanMask, atlasMask: atlasMask),
                                               progress: progress)
        } catch let e as RegistrationError {
            throw AlignError("\(context): \(e.description)")
        }
        guard result.atlasToScan.isFinite, result.atlasToScan.inverse != nil else {
            throw AlignError("\(context): registration produced an invalid transform; nothing written")
        }
        return result
    }
}
