import Network
import Registration
import Testing
import Workflows

/// The shipped protocol's `training` section is the one the shipped model was made with:
/// `align` takes the architecture from the model file, so this is what keeps the two honest.
struct ShippedModelTests {
    @Test func brainAffineTrainingSectionMatchesItsModel() throws {
        let p = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json")
        let training = try #require(p.training)
        let network = try #require(p.network)
        let (model, _) = try ModelFile.load(path: repositoryFolder + "/Protocols/" + network.model)
        let config = TrainJob.configuration(training, steps: nil, seed: nil, percentiles: p.intensityPercentiles)
        #expect(model.architecture == config.architecture)
        #expect(model.parameterMap == config.parameterMap)
        #expect(model.input.gridSize == training.gridSize)
    }
}
