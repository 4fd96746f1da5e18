import Foundation
import Network
import Registration
import Testing
import TestSupport
@testable import Workflows

/// The network comes from the model file only: a protocol whose `training` section states
/// another architecture or other output ranges than its model is refused at `align`, with one
/// line naming both files, the key and both values.
struct ProtocolModelAgreementTests {
    static let modelPath = repositoryFolder + "/Protocols/brain-affine.stnmodel"

    static func shippedModel() throws -> ModelFile { try ModelFile.load(path: modelPath).0 }

    @Test(arguments: ["brain-affine", "brain-affine-precise"])
    func shippedProtocolsAgreeWithTheirModel(name: String) throws {
        let p = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/\(name).json")
        #expect(try #require(p.training).disagreement(with: try Self.shippedModel()) == nil)
    }

    @Test func eachArchitectureKeyIsCompared() throws {
        let model = try Self.shippedModel()
        let base = try #require(try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json").training)
        typealias D = RegistrationProtocol.TrainingSettings.ModelDisagreement
        let cases: [(WritableKeyPath<RegistrationProtocol.TrainingSettings, Double>?, WritableKeyPath<RegistrationProtocol.TrainingSettings, Int>?, D)] = [
            (nil, \.gridSize, D(key: "gridSize", protocolValue: "32", modelValue: "64")),
            (nil, \.convolutionsPerBlock, D(key: "convolutionsPerBlock", protocolValue: "32", modelValue: "2")),
            (nil, \.pooledSize, D(key: "pooledSize", protocolValue: "32", modelValue: "1")),
            (nil, \.centroids, D(key: "centroids", protocolValue: "32", modelValue: "64")),
            (\.maxRotationDegrees, nil, D(key: "maxRotationDegrees", protocolValue: "32", modelValue: "120")),
            (\.maxTranslation, nil, D(key: "maxTranslation", protocolValue: "32", modelValue: "0.35")),
            (\.maxScale, nil, D(key: "maxScale", protocolValue: "32", modelValue: "1.15")),
            (\.maxShear, nil, D(key: "maxShear", protocolValue: "32", modelValue: "0.08")),
        ]
        for (double, int, expected) in cases {
            var t = base
            if let double { t[keyPath: double] = 32 }
            if let int { t[keyPath: int] = 32 }
            #expect(t.disagreement(with: model) == expected)
        }
        var t = base
        t.blockChannels = [8, 16, 32, 64]
        #expect(t.disagreement(with: model) == D(key: "blockChannels", protocolValue: "[8, 16, 32, 64]", modelValue: "[8, 16, 32]"))
        // The training-run keys describe how a model was made (and --steps/--seed override them).
        t = base
        t.trainSteps = 7; t.trainSeed = 9; t.trainRotationDegrees = 3; t.trainLossBlurMM = 4
        #expect(t.disagreement(with: model) == nil)
    }

    /// A protocol in the older layout (training keys inside `network`) is checked the same way.
    @Test func olderLayoutIsCheckedToo() throws {
        let url = URL(fileURLWithPath: repositoryFolder + "/Protocols/brain-affine.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var network = try #require(json["network"] as? [String: Any])
        var training = try #require(json.removeValue(forKey: "training") as? [String: Any])
        training["maxScale"] = 1.2
        network.merge(training) { a, _ in a }
        json["network"] = network
        let p = try RegistrationProtocol.parse(try JSONSerialization.data(withJSONObject: json), path: "old.json")
        #expect(try #require(p.training).disagreement(with: try Self.shippedModel())
            == .init(key: "maxScale", protocolValue: "1.2", modelValue: "1.15"))
    }

    /// The whole message, through `align`: one line, the protocol file, the model file, the key,
    /// both values and what to do. Without the network (`--no-network`) the model is not read.
    @Test func alignRefusesAProtocolThatContradictsItsModel() throws {
        let c = try PhantomCase()
        var p = try RegistrationProtocol.load(path: c.protocolPath)
        p.network = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json").network
        p.network?.model = Self.modelPath
        p.training?.gridSize = 32
        try p.canonicalJSON().write(to: URL(fileURLWithPath: c.protocolPath))
        let expected = "\(c.protocolPath): key 'training.gridSize' is 32 but its model \(Self.modelPath) was trained with 64; "
            + "the network comes from the model file, so make the protocol's 'training' section match the model, "
            + "or train a model with these settings (`stnreg train`) and point 'network.model' at it"
        #expect(throws: AlignError(expected)) { try c.job(prefix: "out").run() }
        #expect(!expected.contains("\n"))
        #expect(!FileManager.default.fileExists(atPath: c.dir + "/out.nii.gz"))
        var job = c.job(prefix: "nonet")
        job.useNetwork = false
        _ = try job.run()
    }
}
