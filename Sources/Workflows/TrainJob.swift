import Foundation
import Hashing
import Network
import NIfTIIO
import QuickLook
import Registration
import Training
import VolumeCore

/// `stnreg train`: trains the localization network against an atlas and writes a model file.
///
/// Files for `-o NAME.stnmodel`: the model itself (written at the end, and when stopped),
/// `NAME.checkpoint.json` (everything needed by `--resume`, rewritten at each validation),
/// `NAME.losses.csv` (step, loss, validation loss, curriculum, seconds) and
/// `NAME.losses.png` (loss in blue, validation loss in red). All written atomically.
public struct TrainJob: Sendable {
    public var atlasPath: String
    public var scanPaths: [String]
    public var validationPaths: [String]
    public var outputPath: String
    public var protocolName: String?
    /// Overrides of the protocol's training settings.
    public var steps: Int?
    public var seed: UInt64?
    public var threads: Int
    public var resume: Bool
    public var commandLine: [String]
    /// Synthetic subjects from the label maps in this folder (TestVolumes layout), issue #15.
    public var syntheticFolder: String? = nil
    /// Overrides of the protocol's training perturbation ranges (degrees, mm, relative scale).
    public var rotationDegrees: Double? = nil
    public var translationMM: Double? = nil
    public var scale: Double? = nil

    public init(atlasPath: String, scanPaths: [String], validationPaths: [String], outputPath: String,
                protocolName: String? = nil, steps: Int? = nil, seed: UInt64? = nil,
                threads: Int = ThreadPolicy.defaultThreadCount, resume: Bool = false, commandLine: [String] = CommandLine.arguments) {
        self.atlasPath = atlasPath
        self.scanPaths = scanPaths
        self.validationPaths = validationPaths
        self.outputPath = outputPath
        self.protocolName = protocolName
        self.steps = steps
        self.seed = seed
        self.threads = threads
        self.resume = resume
        self.commandLine = commandLine
    }

    var stem: String {
        outputPath.hasSuffix(".stnmodel") ? String(outputPath.dropLast(".stnmodel".count)) : outputPath
    }
    public var checkpointPath: String { stem + ".checkpoint.json" }
    public var csvPath: String { stem + ".losses.csv" }
    public var plotPath: String { stem + ".losses.png" }

    /// The training configuration from the protocol's `training` section and the overrides.
    public static func configuration(_ n: RegistrationProtocol.TrainingSettings, steps: Int?, seed: UInt64?, percentiles: [Double]) -> TrainingConfiguration {
        TrainingConfiguration(
            architecture: NetworkArchitecture(gridSize: n.gridSize, inputChannels: 2, blockChannels: n.blockChannels,
                                              convolutionsPerBlock: n.convolutionsPerBlock, normalization: .group(groups: 4),
                                              leakySlope: 0.2, outputs: 12, pooledSize: n.pooledSize,
                                              centroids: n.centroids),
            parameterMap: AffineParameterMap(maxRotationDegrees: n.maxRotationDegrees, maxTranslation: n.maxTranslation,
                                             maxScale: n.maxScale, maxShear: n.maxShear),
            input: ModelFile.Input(gridSize: n.gridSize, intensityPercentiles: percentiles),
            ranges: PerturbationRanges(maxRotationDegrees: n.trainRotationDegrees, maxTranslationMM: n.trainTranslationMM,
                                       maxScale: n.trainScale, maxShear: n.trainShear),
            steps: steps ?? n.trainSteps, batchSize: n.trainBatchSize, learningRate: n.trainLearningRate,
            seed: seed ?? UInt64(n.trainSeed), lossBlurMM: n.trainLossBlurMM > 0 ? n.trainLossBlurMM : nil)
    }

    public struct Outcome: Sendable {
        public var state: TrainingState
        public var stoppedEarly: Bool
        public var modelPath: String
    }

    /// Trains. `report(point, stepsPerSecond, totalSteps)` after every step; `shouldStop` is polled between steps.
    public func run(report: (LossPoint, Double, Int) -> Void, shouldStop: @escaping () -> Bool) throws -> Outcome {
        let inputs = [atlasPath] + scanPaths + validationPaths
        for out in [outputPath, checkpointPath, csvPath, plotPath] { try AtomicFile.refuseInputs(out, inputs) }
        guard !scanPaths.isEmpty || syntheticFolder != nil else { throw TrainError("no training scans given (--scans or --synthetic)") }
        let config = try configuration()
        let anatomies = try syntheticAnatomies()
        let atlas = try NIfTIReader.readVolume(atlasPath)
        let training = try scanPaths.map { try NIfTIReader.readVolume($0) }
        let validation = try validationPaths.map { try NIfTIReader.readVolume($0) }
        var resumeState: TrainingState?
        if resume, FileManager.default.fileExists(atPath: checkpointPath) {
            guard let data = FileManager.default.contents(atPath: checkpointPath) else {
                throw TrainError("\(checkpointPath): cannot read the checkpoint")
            }
            do {
                resumeState = try JSONDecoder().decode(TrainingState.self, from: data)
            } catch {
                throw TrainError("\(checkpointPath): not a valid checkpoint (\(error)); delete it to start afresh")
            }
        }
        let trainer = try Trainer(atlas: atlas, training: training, validation: validation, configuration: config,
                                  threads: threads, resume: resumeState, anatomies: anatomies)
        let startStep = trainer.state.step
        let clock = Stopwatch()
        let state = try trainer.run(
            report: { p in
                let secs = clock.total
                report(p, Double(p.step - startStep) / max(secs, 1e-9), config.steps)
            },
            checkpoint: { s in
                try AtomicFile.write(try JSONEncoder().encode(s), to: checkpointPath, protectedInputs: inputs)
                try writeCurves(s.history)
            },
            shouldStop: shouldStop)
        let stopped = state.step < config.steps
        let atlasHash = try SHA256.hex(ofFile: atlasPath)
        func refs(_ paths: [String]) throws -> [ModelFile.Provenance.FileRef] {
            try paths.map { .init(path: $0, sha256: try SHA256.hex(ofFile: $0)) }
        }
        // Synthetic training: the label maps count as training inputs (hashes in the provenance).
        let last = state.history.last
        let provenance = ModelFile.Provenance(
            tool: STNRegBuild.tool, created: UTCTime.string(.seconds), commandLine: commandLine,
            atlas: .init(path: atlasPath, sha256: atlasHash), trainingScans: try refs(scanPaths + syntheticPaths()), validationScans: try refs(validationPaths),
            seed: config.seed, steps: state.step, batchSize: config.batchSize, threads: threads,
            finalTrainingLoss: last?.loss ?? .nan,
            finalValidationLoss: state.history.last(where: { $0.validationLoss != nil })?.validationLoss ?? .nan,
            seconds: last?.seconds ?? 0)
        let model = ModelFile(network: trainer.network, parameterMap: config.parameterMap, input: config.input, provenance: provenance)
        try model.write(to: outputPath, protectedInputs: inputs)
        return Outcome(state: state, stoppedEarly: stopped, modelPath: outputPath)
    }

    func writeCurves(_ history: [LossPoint]) throws {
        // Validation TRE (mm) after 1–4 recurrent applications, on validation steps.
        var csv = "step,loss,validation_loss,validation_tre1_mm,validation_tre2_mm,validation_tre3_mm,validation_tre4_mm,curriculum,seconds\n"
        func field(_ v: Double?) -> String { v.map { String($0) } ?? "" }
        for p in history {
            let tre = (0..<4).map { a in field(p.validationTREByApplications.flatMap { a < $0.count ? $0[a] : nil }) }
            csv += "\(p.step),\(p.loss),\(field(p.validationLoss)),\(tre.joined(separator: ",")),\(p.curriculum),\(String(format: "%.3f", p.seconds))\n"
        }
        try AtomicFile.write(Data(csv.utf8), to: csvPath)
        // Training loss smoothed over 20 steps (blue) and validation loss (red).
        var smooth: [(x: Double, y: Double)] = []
        var window: [Double] = []
        for p in history {
            window.append(p.loss)
            if window.count > 20 { window.removeFirst() }
            smooth.append((Double(p.step), window.reduce(0, +) / Double(window.count)))
        }
        let validation = history.compactMap { p in p.validationLoss.map { (x: Double(p.step), y: $0) } }
        let image = LinePlot.render([smooth, validation])
        try AtomicFile.withTemporary(for: plotPath) { tmp in try PNGWriter.write(image, to: tmp) }
    }
}
