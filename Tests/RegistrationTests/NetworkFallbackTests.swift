import Foundation
import Network
@testable import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

/// A tiny network whose head always outputs the same raw values (weights zero, bias `o`), so
/// every application predicts the same normalised affine.
func constantPredictor(outputs o: [Float], applications: Int) throws -> NetworkPredictor {
    let arch = NetworkArchitecture(gridSize: 8, inputChannels: 2, blockChannels: [4], convolutionsPerBlock: 1,
                                   normalization: .group(groups: 2), leakySlope: 0.2, outputs: 12)
    var net = try LocalizationNetwork(architecture: arch, seed: 1)
    var values = net.parameterValues
    values[values.count - 1] = o
    net.parameterValues = values
    let prov = ModelFile.Provenance(tool: "test", created: "2026-01-01T00:00:00Z", commandLine: ["x"],
                                    atlas: .init(path: "a.nii", sha256: String(repeating: "0", count: 64)),
                                    trainingScans: [], validationScans: [], seed: 1, steps: 0, batchSize: 1, threads: 1,
                                    finalTrainingLoss: 0, finalValidationLoss: 0, seconds: 0)
    let model = ModelFile(network: net, parameterMap: AffineParameterMap(maxRotationDegrees: 45), input: .init(gridSize: 8),
                          provenance: prov)
    return NetworkPredictor(model: model, network: net, applications: applications)
}

/// Raw outputs for a rotation of `degrees` about z under a ±45° map.
func zRotationOutputs(_ degrees: Double) -> [Float] {
    var o = [Float](repeating: 0, count: 12)
    o[2] = Float(atanh(degrees / 45))
    return o
}

struct NetworkFallbackTests {
    let atlasGrid = Grid(dims: SIMD3(28, 30, 26), spacingMM: SIMD3(4, 4, 4), origin: SIMD3(-54, -58, -50))

    /// Three applications of a constant 15° step: the prediction turns 45° in all, and the last
    /// application's move is that of one 15° turn at the corners (±½, ±½, ±½) of the frame:
    /// `h·√½·2·sin 7.5°` (rotation about z moves only the x–y part).
    @Test func recurrentPredictionReportsTheLastCorrection() throws {
        let atlas = Phantom.blobs(grid: atlasGrid)
        let predictor = try constantPredictor(outputs: zRotationOutputs(15), applications: 3)
        let p = predictor.predict(scan: atlas, atlas: atlas, start: .identity, threads: 1)
        let d = try #require(Decomposition(p.atlasToScan))
        #expect(abs(d.rotationDegrees.z - 45) < Tolerance.angleDegrees && abs(d.rotationDegrees.x) < Tolerance.angleDegrees, "\(d.rotationDegrees)")
        // The frame's half-extent, from the same recipe the predictor uses.
        let recipe = NetworkInputRecipe(predictor.model.input)
        let h = recipe.frame(forNormalisedAtlas: recipe.normalise(atlas)).halfExtentMM
        let expected = h * 0.5.squareRoot() * 2 * sin(7.5 * Double.pi / 180)
        let last = try #require(p.lastCorrectionMM)
        #expect(abs(last - expected) < Tolerance.float32Relative * expected, "\(last) vs \(expected)")
        let once = try constantPredictor(outputs: zRotationOutputs(15), applications: 1)
        #expect(once.predict(scan: atlas, atlas: atlas, start: .identity, threads: 1).lastCorrectionMM == nil)
    }

    /// In fallback mode a prediction that keeps moving the scan is not trusted: the rotation
    /// search runs before refinement (and the result is right); a converged prediction is
    /// refined without any search.
    @Test func unconvergedPredictionRunsTheSearchInFallbackMode() throws {
        let atlas = Phantom.blobs(grid: atlasGrid)
        let truth = Decomposition(translation: SIMD3(3, -2, 2), rotationDegrees: SIMD3(0, 0, 6)).affine
        let scan = resample(atlas, onto: atlasGrid, atlasToScan: try #require(truth.inverse))
        let settings = try phantomProtocol(.rigid, rotationSearch: .fallback)
        // Each application turns 40° more: far from converged.
        let wild = try constantPredictor(outputs: zRotationOutputs(40), applications: 2)
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: settings, threads: 2, predictor: wild))
        #expect(r.flags.contains(.predictionUnconverged))
        #expect((r.predictionLastCorrectionMM ?? 0) > Registration.predictionConvergenceMM)
        #expect(r.rotationCandidatesTried > 0)
        #expect(meanDistance(r.atlasToScan, truth, over: atlasGrid) < 1, "\(r.atlasToScan)")
        // The identity network (zero head) has converged: no search.
        let calm = try constantPredictor(outputs: [Float](repeating: 0, count: 12), applications: 2)
        let r2 = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: settings, threads: 2, predictor: calm))
        #expect(!r2.flags.contains(.predictionUnconverged))
        #expect(r2.rotationCandidatesTried == 0)
        #expect(r2.predictionLastCorrectionMM == 0)
        #expect(meanDistance(r2.atlasToScan, truth, over: atlasGrid) < 1)
    }
}
