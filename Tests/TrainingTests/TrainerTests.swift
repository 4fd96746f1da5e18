import Foundation
import Network
import Sampling
import Testing
import TestSupport
@testable import Training
import VolumeCore

/// A tiny configuration: 12³ input, two blocks, batch 2.
func tinyConfiguration(steps: Int, seed: UInt64 = 3) -> TrainingConfiguration {
    TrainingConfiguration(
        architecture: NetworkArchitecture(gridSize: 12, inputChannels: 2, blockChannels: [4, 8], convolutionsPerBlock: 1,
                                          normalization: .group(groups: 2), leakySlope: 0.2, outputs: 12),
        parameterMap: AffineParameterMap(maxRotationDegrees: 30, maxTranslation: 0.3, maxScale: 1.2, maxShear: 0.1),
        input: ModelFile.Input(gridSize: 12),
        ranges: PerturbationRanges(maxRotationDegrees: 15, maxTranslationMM: 8, maxScale: 0.05, maxShear: 0.02),
        steps: steps, batchSize: 2, learningRate: 3e-3, seed: seed, validationEvery: 2, validationCases: 2)
}

func phantomImages() -> (atlas: Volume, scans: [Volume]) {
    let g = Grid(dims: SIMD3(20, 22, 18), spacingMM: SIMD3(5, 5, 5), origin: SIMD3(-48, -52, -42))
    let atlas = Phantom.blobs(grid: g)
    let s1 = resample(atlas, onto: g, atlasToScan: Decomposition(translation: SIMD3(4, -3, 2), rotationDegrees: SIMD3(5, 0, -6)).affine)
    let s2 = resample(atlas, onto: g, atlasToScan: Decomposition(translation: SIMD3(-2, 3, 1), rotationDegrees: SIMD3(0, 7, 3)).affine)
    return (atlas, [s1, s2])
}

struct SpatialTransformerTests {
    @Test func affineGradientMatchesFiniteDifferences() throws {
        let frame = NetworkFrame(gridSize: 10, centreMM: SIMD3(1, -2, 3), halfExtentMM: 40)
        let image = Phantom.blobs(grid: frame.grid)
        let st = SpatialTransformer(frame: frame)
        var rng = SeededGenerator(seed: 5)
        let weights = (0..<frame.grid.voxelCount).map { _ in Float(rng.uniform(-1, 1)) }
        let a0 = Decomposition(translation: SIMD3(0.03, -0.02, 0.01), rotationDegrees: SIMD3(4, -3, 2), scale: SIMD3(1.02, 0.98, 1.01)).affine
        // The loss in Double through the point sampler (no Float rounding of positions).
        let sampler = TrilinearSampler(image)
        let g = frame.grid
        func loss(_ e: [Double]) -> Double {
            let m = st.voxelMap(Affine(rowMajor3x4: e))
            var s = 0.0
            for k in 0..<g.dims.z { for j in 0..<g.dims.y { for i in 0..<g.dims.x {
                let p = m.apply(SIMD3(Double(i), Double(j), Double(k)))
                s += sampler.value(at: p) * Double(weights[g.index(i, j, k)])
            } } }
            return s
        }
        let e0 = a0.rowMajor4x4.prefix(12).map { $0 }
        let w = st.forward(image, normalised: a0, threads: 1)
        let analytic = st.affineGradient(Volume(grid: frame.grid, voxels: weights), spatialGradient: w.spatialGradient, threads: 1)
        let numeric = GradientCheck.numerical(Array(e0), h: 1e-7, loss)
        #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: 1) < Tolerance.float32FiniteDifference, "\(analytic) vs \(numeric)")
    }

    @Test func imageGradientIsTheAdjoint() {
        let frame = NetworkFrame(gridSize: 8, centreMM: .zero, halfExtentMM: 30)
        let st = SpatialTransformer(frame: frame)
        var rng = SeededGenerator(seed: 6)
        let image = Phantom.noise(grid: frame.grid, seed: 1)
        let y = Phantom.noise(grid: frame.grid, seed: 2)
        let a = Decomposition(rotationDegrees: SIMD3(10, 0, 5), scale: SIMD3(1.1, 0.9, 1)).affine
        _ = rng.next()
        let w = st.forward(image, normalised: a, threads: 1).warped
        let back = st.imageGradient(y, normalised: a, threads: 1)
        let lhs = zip(w.voxels, y.voxels).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(image.voxels, back.voxels).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(lhs - rhs) < Tolerance.float32AdjointRelative * max(1, abs(lhs)))
    }
}

struct TrainerTests {
    @Test func untrainedPredictsIdentityAndTrainingLowersValidationLoss() throws {
        let (atlas, scans) = phantomImages()
        let t = try Trainer(atlas: atlas, training: scans, validation: [scans[0]], configuration: tinyConfiguration(steps: 80), threads: 2)
        let before = t.validationLoss()
        var points: [LossPoint] = []
        try t.run(report: { points.append($0) }, checkpoint: { _ in }, shouldStop: { false })
        let after = t.validationLoss()
        #expect(points.count == 80)
        #expect(after < before, "validation loss \(before) → \(after)")
    }

    @Test func sameSeedSameWeightsAnyThreadCount() throws {
        let (atlas, scans) = phantomImages()
        func train(threads: Int) throws -> [ParameterTensor] {
            let t = try Trainer(atlas: atlas, training: scans, validation: [], configuration: tinyConfiguration(steps: 3), threads: threads)
            try t.run(report: { _ in }, checkpoint: { _ in }, shouldStop: { false })
            return t.network.parameterTensors
        }
        let a = try train(threads: 1), b = try train(threads: 2), c = try train(threads: 2)
        #expect(a == b)
        #expect(b == c)
    }

    /// The validation TRE and the checkpoint come every `reportEveryValidations`-th validation
    /// and at the last step; they never feed back, so the weights and every loss are the same
    /// as when both come at every validation (nil). 10 steps, a validation every 2: with 2,
    /// TRE at steps 4, 8 and 10 (the last); with nil at 2, 4, 6, 8, 10.
    @Test func reportingLessOftenLeavesTheWeightsAlone() throws {
        let (atlas, scans) = phantomImages()
        func train(_ every: Int?) throws -> (params: [ParameterTensor], history: [LossPoint], checkpoints: [Int]) {
            var c = tinyConfiguration(steps: 10)
            c.reportEveryValidations = every
            let t = try Trainer(atlas: atlas, training: scans, validation: [scans[1]], configuration: c, threads: 2)
            var checkpoints: [Int] = []
            try t.run(report: { _ in }, checkpoint: { checkpoints.append($0.step) }, shouldStop: { false })
            return (t.network.parameterTensors, t.state.history, checkpoints)
        }
        let sparse = try train(2), dense = try train(nil)
        #expect(sparse.params == dense.params)
        #expect(sparse.history.map(\.loss) == dense.history.map(\.loss))
        #expect(sparse.history.map(\.validationLoss) == dense.history.map(\.validationLoss))
        #expect(sparse.history.filter { $0.validationTREByApplications != nil }.map(\.step) == [4, 8, 10])
        #expect(dense.history.filter { $0.validationTREByApplications != nil }.map(\.step) == [2, 4, 6, 8, 10])
        #expect(sparse.checkpoints == [4, 8, 10, 10] && dense.checkpoints == [2, 4, 6, 8, 10, 10])
    }

    @Test func resumeContinuesExactly() throws {
        let (atlas, scans) = phantomImages()
        let full = try Trainer(atlas: atlas, training: scans, validation: [scans[1]], configuration: tinyConfiguration(steps: 4), threads: 2)
        try full.run(report: { _ in }, checkpoint: { _ in }, shouldStop: { false })
        // Stop after 2 steps, keep the last checkpoint, resume from it.
        var saved: TrainingState?
        let first = try Trainer(atlas: atlas, training: scans, validation: [scans[1]], configuration: tinyConfiguration(steps: 4), threads: 2)
        try first.run(report: { _ in }, checkpoint: { saved = $0 }, shouldStop: { first.state.step >= 2 })
        let checkpoint = try #require(saved)
        #expect(checkpoint.step == 2)
        // Through JSON, as a checkpoint file would be.
        let data = try JSONEncoder().encode(checkpoint)
        let restored = try JSONDecoder().decode(TrainingState.self, from: data)
        let second = try Trainer(atlas: atlas, training: scans, validation: [scans[1]], configuration: tinyConfiguration(steps: 4), threads: 2, resume: restored)
        try second.run(report: { _ in }, checkpoint: { _ in }, shouldStop: { false })
        #expect(second.network.parameterTensors == full.network.parameterTensors)
    }
}

struct TrainingLossTests {
    /// The loss's gradient with respect to the network's raw outputs against central
    /// differences, with the sharp term alone and with the blurred term added.
    /// The loss's gradient with respect to the raw outputs: the dense head's (through the
    /// parameter map), with and without the blurred term, and the centroid head's (the outputs
    /// are the affine's entries: drawn about the identity's).
    @Test(arguments: zip([nil, 8.0, nil] as [Double?], [0, 0, 4]))
    func outputGradientMatchesFiniteDifferences(blurMM: Double?, centroids: Int) throws {
        let (atlas, scans) = phantomImages()
        var c = tinyConfiguration(steps: 1)
        c.lossBlurMM = blurMM
        c.architecture.centroids = centroids
        let t = try Trainer(atlas: atlas, training: scans, validation: [], configuration: c, threads: 2)
        let images = [t.recipe.scanChannel(t.scans[0].volume, start: t.scans[0].start,
                                           normalised: Decomposition(rotationDegrees: SIMD3(6, -4, 3)).affine,
                                           frame: t.frame, resample: { v, g, a in resample(v, onto: g, atlasToScan: a) }),
                      t.scans[1].volume].map { v in v.grid == t.frame.grid ? v
                          : resample(v, onto: t.frame.grid, atlasToScan: t.frame.atlasToScan(normalised: .identity, start: t.scans[1].start)) }
        var rng = SeededGenerator(seed: 21)
        let base = centroids > 0 ? Affine.identity.rowMajor3x4 : [Double](repeating: 0, count: 12)
        let spread = centroids > 0 ? 0.05 : 0.3
        let outputs = (0..<2).map { _ in (0..<12).map { base[$0] + rng.uniform(-spread, spread) } }
        let (_, analytic) = t.lossAndGradient(outputs: outputs, images: images, recording: true)
        for b in 0..<2 {
            let numeric = GradientCheck.numerical(outputs[b], h: 1e-4) { o in
                var all = outputs
                all[b] = o
                return t.lossAndGradient(outputs: all, images: images, recording: false).0
            }
            #expect(GradientCheck.maxRelativeError(analytic[b], numeric, floor: Tolerance.float32GradientFloor) < Tolerance.float32TrainerFiniteDifference, "item \(b): \(analytic[b]) vs \(numeric)")
        }
    }

    /// Validation TRE: an untrained network predicts the identity, so after any number of
    /// applications its TRE is the mean displacement of the validation perturbations, computed
    /// here independently.
    @Test func validationTREOfTheIdentityIsThePerturbationsDisplacement() throws {
        let (atlas, scans) = phantomImages()
        let t = try Trainer(atlas: atlas, training: scans, validation: [scans[0]], configuration: tinyConfiguration(steps: 1), threads: 1)
        let tre = t.validationTRE(applications: 3)
        #expect(tre.count == 3)
        var expected = 0.0
        for c in t.validationCases {
            let inverse = c.perturbation.inverse!
            expected += t.validationPoints.reduce(0.0) { $0 + length($1 - inverse.apply($1)) } * t.frame.halfExtentMM
                / Double(t.validationPoints.count)
        }
        expected /= Double(t.validationCases.count)
        #expect(expected > 1)
        for v in tre { #expect(abs(v - expected) < Tolerance.float64Sum * expected, "\(tre) vs \(expected)") }
    }
}

struct AugmentationTests {
    @Test func augmentationIsSeededBoundedAndKeepsBackgroundNearZero() {
        let g = Grid(dims: SIMD3(16, 12, 10), spacingMM: SIMD3(2, 2, 2), origin: .zero)
        var image = Volume(grid: g)
        for n in image.voxels.indices where n % 3 != 0 { image.voxels[n] = Float(n % 97) / 60 }
        var a = image, b = image, c = image
        var r1 = SeededGenerator(seed: 4), r2 = SeededGenerator(seed: 4), r3 = SeededGenerator(seed: 5)
        IntensityAugmentation.apply(&a, &r1)
        IntensityAugmentation.apply(&b, &r2)
        IntensityAugmentation.apply(&c, &r3)
        #expect(a.voxels == b.voxels)
        #expect(a.voxels != c.voxels)
        for v in a.voxels + c.voxels { #expect(v >= 0 && v <= 1.5) }
        // Background voxels get only the bounded noise (σ ≤ 0.03, at most 2√3·σ).
        for n in image.voxels.indices where n % 3 == 0 { #expect(a.voxels[n] <= Float(2 * 3.0.squareRoot() * 0.03) + Float(Tolerance.float32BoundSlack)) }
    }

    /// The table for x^γ against pow: within 1e-3 relative from x = 0.01 to the top.
    @Test(arguments: [0.7, 1.0, 1.4])
    func powerTableFollowsPow(gamma: Double) {
        let t = PowerTable(exponent: gamma)
        for i in 0...1490 {
            let x = 0.01 + Double(i) * 0.001
            let exact = pow(x, gamma)
            #expect(abs(Double(t.value(Float(x))) - exact) <= Tolerance.powerTableRelative * exact, "x = \(x)")
        }
        #expect(t.value(-1) == 0)
        #expect(abs(Double(t.value(3)) - pow(1.5, gamma)) < Tolerance.float32FewOperations)
    }
}
