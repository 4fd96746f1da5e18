import Foundation
import Network
import Optimization
import VolumeCore

/// Settings of one training run (recorded in checkpoints and the model's provenance).
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    public var architecture: NetworkArchitecture
    public var parameterMap: AffineParameterMap
    public var input: ModelFile.Input
    /// Perturbation ranges at the end of the curriculum.
    public var ranges: PerturbationRanges
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Double
    public var weightDecay: Double
    public var clipNorm: Double
    public var seed: UInt64
    /// Steps between validations (and curriculum decisions).
    public var validationEvery: Int
    /// Every this many validations (and at the last step) the validation TRE is measured and a
    /// checkpoint written; nil: at every validation (checkpoints before 2026-12-08). Neither
    /// feeds back into training — the weights are the same for any value — but the TRE's four
    /// network applications over the validation cases and the checkpoint made each validation
    /// step of the shipped model's 1,216 s run 0.77 s longer than a step, 7.6 % of the run
    /// (README).
    public var reportEveryValidations: Int?
    /// Validation perturbations per validation scan (fixed for the whole run).
    public var validationCases: Int
    /// Curriculum fraction at the start (ranges × fraction); it widens by `curriculumStep`
    /// whenever the training loss at the current difficulty stops improving by 1 % between
    /// validations, and reaches 1 by 70 % of the steps at the latest.
    public var curriculumStart: Double
    public var curriculumStep: Double
    /// When set (mm), the loss is the mean of −NCC on the images as they are and −NCC on both
    /// images blurred by a Gaussian of this σ: the blurred term varies smoothly over a wider
    /// range of misalignment, so it still points the way when the sharp term is flat.
    public var lossBlurMM: Double?
    /// When set, the training items are synthetic subjects (``SyntheticSubjectGenerator``):
    /// the network sees each in its random contrast, the loss warps its T1 rendering.
    public var synthetic: SyntheticSubjectSettings?

    public init(architecture: NetworkArchitecture, parameterMap: AffineParameterMap, input: ModelFile.Input,
                ranges: PerturbationRanges, steps: Int, batchSize: Int = 4, learningRate: Double = 1e-3,
                weightDecay: Double = 1e-4, clipNorm: Double = 1.0, seed: UInt64 = 1, validationEvery: Int = 50,
                reportEveryValidations: Int? = 5, validationCases: Int = 16, curriculumStart: Double = 0.25, curriculumStep: Double = 0.15,
                lossBlurMM: Double? = nil, synthetic: SyntheticSubjectSettings? = nil) {
        self.architecture = architecture
        self.parameterMap = parameterMap
        self.input = input
        self.ranges = ranges
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.clipNorm = clipNorm
        self.seed = seed
        self.validationEvery = validationEvery
        self.reportEveryValidations = reportEveryValidations
        self.validationCases = validationCases
        self.curriculumStart = curriculumStart
        self.curriculumStep = curriculumStep
        self.lossBlurMM = lossBlurMM
        self.synthetic = synthetic
    }
}

/// One row of the loss curve.
public struct LossPoint: Codable, Equatable, Sendable {
    public var step: Int
    /// Mean −NCC over the step's batch.
    public var loss: Double
    /// Mean −NCC over the fixed validation cases (only on validation steps).
    public var validationLoss: Double?
    /// Mean target registration error (mm) of the prediction on the validation cases, against
    /// the perturbation that made each case (an evaluation, never a training signal), after
    /// 1, 2, 3 and 4 recurrent applications of the network. Only on the validation steps that
    /// report (``TrainingConfiguration/reportEveryValidations``).
    public var validationTREByApplications: [Double]?
    /// Curriculum fraction used by the step.
    public var curriculum: Double
    /// Wall seconds since the run (or the resumed run) started.
    public var seconds: Double
}

/// Everything needed to continue a run exactly where it stopped.
public struct TrainingState: Codable, Sendable {
    public var configuration: TrainingConfiguration
    /// Steps completed.
    public var step: Int
    public var curriculum: Double
    public var bestValidationLoss: Double?
    public var lastValidationLoss: Double?
    public var optimiser: AdamW<Float>
    public var parameters: [ParameterTensor]
    public var history: [LossPoint]
}
