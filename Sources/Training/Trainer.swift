import Dispatch
import Foundation
import Network
import Optimization
import Sampling
import Similarity
import VolumeCore

/// Unsupervised training of the localization network against an atlas (issue: spatial transformer).
///
/// Each step draws `batchSize` (scan, perturbation) pairs from a generator seeded by
/// `(seed, step)`, so a run and a resumed run take the same steps: the scan is shown to the
/// network through its centre-of-mass start `T₀` and a random normalised affine `P`
/// (``PerturbationRanges`` × curriculum), with random intensity changes; the network predicts
/// `A`; the spatial transformer warps the input by `A`; the loss is −NCC with the atlas on the
/// frame grid (global NCC over the atlas foreground, module Similarity). No labels: the ideal
/// `A` is `P⁻¹`, which the network has to discover from the similarity alone.
/// Same seed and thread count → same weights.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let threads: Int
    public private(set) var network: LocalizationNetwork
    public private(set) var state: TrainingState
    let recipe: NetworkInputRecipe
    let frame: NetworkFrame
    let transformer: SpatialTransformer
    let atlasChannel: Volume
    let ncc: PreparedGlobalNCC
    /// The blurred term's similarity (blurred atlas), when ``TrainingConfiguration/lossBlurMM`` is set.
    let blurredNCC: PreparedGlobalNCC?
    let scans: [(volume: Volume, start: Affine)]
    let validationInputs: [Volume]
    /// What made each validation input: the scan (normalised), its start and the perturbation.
    let validationCases: [(volume: Volume, start: Affine, perturbation: Affine)]
    /// Normalised frame points of the atlas foreground (every other voxel) for the TRE.
    let validationPoints: [SIMD3<Double>]
    /// The synthetic subjects, with ``TrainingConfiguration/synthetic``.
    public let synthetic: SyntheticSubjectGenerator?

    /// Prepares the atlas, the scans (normalised, centre-of-mass starts) and the fixed
    /// validation cases; starts from `resume` when given (its configuration must match). With
    /// ``TrainingConfiguration/synthetic``, `anatomies` are the generator's label maps and
    /// `training` may be empty.
    public init(atlas: Volume, training: [Volume], validation: [Volume], configuration c: TrainingConfiguration,
                threads: Int, resume: TrainingState? = nil, anatomies: [SyntheticAnatomy] = []) throws {
        guard !training.isEmpty || c.synthetic != nil else { throw TrainingError("no training scans") }
        guard c.synthetic == nil || !anatomies.isEmpty else { throw TrainingError("synthetic training needs label maps (anatomies)") }
        guard c.steps >= 1, c.batchSize >= 1 else { throw TrainingError("steps and batch size must be at least 1") }
        configuration = c
        self.threads = threads
        let recipe = NetworkInputRecipe(c.input)
        self.recipe = recipe
        let atlasN = recipe.normalise(atlas)
        guard let atlasCentre = ImagePreparation.centreOfMass(atlasN) else { throw TrainingError("the atlas has no foreground") }
        let frame = recipe.frame(forNormalisedAtlas: atlasN)
        self.frame = frame
        transformer = SpatialTransformer(frame: frame)
        let resampler: NetworkInputRecipe.Resampler = { v, g, t in resample(v, onto: g, atlasToScan: t, threads: threads) }
        let atlasChannel = recipe.atlasChannel(atlasN, frame: frame, resample: resampler)
        self.atlasChannel = atlasChannel
        let mask = ImagePreparation.mask(atlasChannel, threshold: Float(c.input.foregroundThreshold), dilation: 1)
        ncc = GlobalNCC(threads: threads).prepare(atlas: atlasChannel, mask: mask)
        if let sigma = c.lossBlurMM, sigma > 0 {
            let blurred = gaussianBlur(atlasChannel, sigmaMM: SIMD3(repeating: sigma), threads: threads)
            blurredNCC = GlobalNCC(threads: threads).prepare(atlas: blurred, mask: mask)
        } else {
            blurredNCC = nil
        }
        @Sendable func prepared(_ v: Volume) throws -> (Volume, Affine) {
            let n = recipe.normalise(v)
            guard let centre = ImagePreparation.centreOfMass(n) else { throw TrainingError("a training scan has no foreground") }
            return (n, Affine.translation(centre - atlasCentre))
        }
        scans = try training.map(prepared)
        synthetic = c.synthetic.map {
            SyntheticSubjectGenerator(anatomies: anatomies, settings: $0, frame: frame, atlasCentreMM: atlasCentre,
                                      percentiles: c.input.intensityPercentiles)
        }
        // Fixed validation cases at the full ranges.
        var vrng = SeededGenerator(seed: c.seed ^ 0x5EED_0F_7A11_DA7E)
        var inputs: [Volume] = []
        var made: [(volume: Volume, start: Affine, perturbation: Affine)] = []
        for v in validation {
            let (n, start) = try prepared(v)
            for _ in 0..<c.validationCases {
                let p = c.ranges.sample(&vrng, fraction: 1, halfExtentMM: frame.halfExtentMM)
                inputs.append(recipe.scanChannel(n, start: start, normalised: p, frame: frame, resample: resampler))
                made.append((n, start, p))
            }
        }
        validationInputs = inputs
        validationCases = made
        let toNormalised = frame.voxelToNormalised
        var points: [SIMD3<Double>] = []
        let g = frame.gridSize
        for k in stride(from: 0, to: g, by: 2) {
            for j in stride(from: 0, to: g, by: 2) {
                for i in stride(from: 0, to: g, by: 2) where mask[atlasChannel.grid.index(i, j, k)] > 0 {
                    points.append(toNormalised.apply(SIMD3(Double(i), Double(j), Double(k))))
                }
            }
        }
        validationPoints = points
        var net = try LocalizationNetwork(architecture: c.architecture, seed: c.seed)
        if let r = resume {
            guard r.configuration == c else { throw TrainingError("the checkpoint was made with other settings; resume with the same command") }
            try net.loadParameters(r.parameters)
            state = r
        } else {
            state = TrainingState(configuration: c, step: 0, curriculum: c.curriculumStart, bestValidationLoss: nil,
                                  lastValidationLoss: nil,
                                  optimiser: AdamW<Float>(learningRate: c.learningRate, weightDecay: c.weightDecay, clipNorm: c.clipNorm),
                                  parameters: net.parameterTensors, history: [])
        }
        network = net
    }

    /// Trains until `configuration.steps` or until `shouldStop()`; calls `report` after every
    /// step and `checkpoint` on the validation steps that report
    /// (``TrainingConfiguration/reportEveryValidations``) and when stopping. Returns the final state.
    @discardableResult
    public func run(report: (LossPoint) -> Void, checkpoint: (TrainingState) throws -> Void,
                    shouldStop: () -> Bool) throws -> TrainingState {
        let clock = Stopwatch()
        while state.step < configuration.steps {
            if shouldStop() { break }
            let loss = try step()
            var point = LossPoint(step: state.step, loss: loss, validationLoss: nil, curriculum: state.curriculum,
                                  seconds: clock.total)
            var reports = false
            if state.step % configuration.validationEvery == 0 || state.step == configuration.steps {
                let v = validationLoss()
                point.validationLoss = v
                let validations = state.step / configuration.validationEvery
                reports = state.step == configuration.steps || validations % max(1, configuration.reportEveryValidations ?? 1) == 0
                if reports {
                    let tre = validationTRE(applications: 4)
                    point.validationTREByApplications = tre.isEmpty ? nil : tre
                }
                updateCurriculum(validation: v)
            }
            state.history.append(point)
            report(point)
            if reports {
                state.parameters = network.parameterTensors
                try checkpoint(state)
            }
        }
        state.parameters = network.parameterTensors
        try checkpoint(state)
        return state
    }

    /// One optimisation step; returns the batch's mean loss.
    func step() throws -> Double {
        let c = configuration
        var rng = SeededGenerator(seed: c.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(state.step + 1))
        // Each item draws its scan and perturbation here, in order, and gets its own generator
        // for the augmentation, so the items can be made in parallel and still come out the
        // same for any thread count.
        var plans: [ItemPlan] = []
        for _ in 0..<c.batchSize {
            let real = synthetic == nil || (!scans.isEmpty && rng.uniform(0, 1) < c.synthetic!.realScanShare)
            let s = real ? Int(rng.next() % UInt64(scans.count)) : -1
            let p = c.ranges.sample(&rng, fraction: state.curriculum, halfExtentMM: frame.halfExtentMM)
            plans.append(ItemPlan(scan: s, perturbation: p, seed: rng.next()))
        }
        let (images, lossImages) = makeItems(plans)
        let (loss, outputGradient, tape) = lossAndOutputGradient(images, lossImages: lossImages, recording: true)
        let grads = network.backward(tape!, outputGradient: outputGradient, threads: threads)
        var params = network.parameterValues
        // Cosine decay of the learning rate to 10 % over the run.
        state.optimiser.learningRate = CosineSchedule(base: c.learningRate).rate(step: state.step, of: c.steps)
        state.optimiser.update(&params, gradients: grads.parameters, decays: network.parameterDecays)
        network.parameterValues = params
        state.step += 1
        guard loss.isFinite, params.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            throw TrainingError("training diverged at step \(state.step) (non-finite loss or weights); lower the learning rate")
        }
        return loss
    }

    /// Mean −NCC after the network's prediction for `images`, the gradient with respect to the
    /// raw outputs, and the forward tape. The loss warps `lossImages` (same geometry as
    /// `images`, e.g. their T1 renderings) when given, else `images`.
    func lossAndOutputGradient(_ images: [Volume], lossImages: [Volume]? = nil, recording: Bool) -> (Double, Tensor5, ForwardTape?) {
        let batch = NetworkInputRecipe.batch(images.map { NetworkInputRecipe.tensor(scan: $0, atlas: atlasChannel) })
        let (out, tape): (Tensor5, ForwardTape?) = recording
            ? { let r = network.forwardRecording(batch, threads: threads); return (r.output, r.tape) }()
            : (network.forward(batch, threads: threads), nil)
        let k = configuration.architecture.outputs
        let outputs = (0..<images.count).map { b in (0..<k).map { Double(out.values[b * k + $0]) } }
        let (total, gradients) = lossAndGradient(outputs: outputs, images: lossImages ?? images, recording: recording)
        var dOut = Tensor5(zeros: out.shape)
        for (b, g) in gradients.enumerated() where recording {
            for j in 0..<k { dOut.values[b * k + j] = Float(g[j]) }
        }
        return (total, dOut, tape)
    }

    /// The batch's mean loss for given raw network outputs (one row of 12 per image) and, when
    /// `recording`, its gradient with respect to those outputs: per image, −NCC of the warped
    /// image with the atlas (and, with ``TrainingConfiguration/lossBlurMM``, the mean of that
    /// and the same for both images blurred).
    func lossAndGradient(outputs: [[Double]], images: [Volume], recording: Bool) -> (Double, [[Double]]) {
        var total = 0.0
        var gradients: [[Double]] = []
        let scale = 1 / Double(images.count)
        let blurSigma = configuration.lossBlurMM ?? 0
        let weight = blurredNCC == nil ? 1.0 : 0.5
        for (image, o) in zip(images, outputs) {
            let a = network.affine(outputs: o, map: configuration.parameterMap)
            var terms: [(Volume, PreparedGlobalNCC)] = [(image, ncc)]
            if let blurred = blurredNCC {
                terms.append((gaussianBlur(image, sigmaMM: SIMD3(repeating: blurSigma), threads: threads), blurred))
            }
            var dA = [Double](repeating: 0, count: 12)
            for (source, similarity) in terms {
                let w = transformer.forward(source, normalised: a, threads: threads)
                let (s, dS) = similarity.evaluate(warped: w.warped.voxels)
                total += -s * scale * weight
                guard recording else { continue }
                let dLdW = Volume(grid: image.grid, voxels: dS.map { Float(-Double($0) * scale * weight) })
                let g = transformer.affineGradient(dLdW, spatialGradient: w.spatialGradient, threads: threads)
                for e in 0..<12 { dA[e] += g[e] }
            }
            gradients.append(recording ? network.outputGradient(outputs: o, map: configuration.parameterMap, entryGradient: dA) : [])
        }
        return (total, gradients)
    }

    func updateCurriculum(validation v: Double) {
        let c = configuration
        let floor = c.curriculumStart + (1 - c.curriculumStart) * min(1, Double(state.step) / (0.7 * Double(c.steps)))
        var next = max(state.curriculum, floor)
        // Mean training loss over the last window at this difficulty, against the window before.
        let w = c.validationEvery
        let recent = state.history.suffix(w).filter { $0.curriculum == state.curriculum }.map(\.loss)
        let before = state.history.dropLast(w).suffix(w).filter { $0.curriculum == state.curriculum }.map(\.loss)
        if recent.count == w, before.count == w {
            let r = recent.reduce(0, +) / Double(w), b = before.reduce(0, +) / Double(w)
            if r > b - 0.01 * abs(b) { next = state.curriculum + c.curriculumStep }   // stable: widen
        }
        state.curriculum = min(1, max(next, floor))
        state.lastValidationLoss = v
        state.bestValidationLoss = min(state.bestValidationLoss ?? v, v)
    }
}

/// Training cannot go on.
public struct TrainingError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}
