import ArgumentParser
import Dispatch
import Foundation
import Training
import VolumeCore
import Workflows

/// `stnreg train --atlas ATLAS --scans DIR|GLOB|LIST -o MODEL`: unsupervised training.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the localization network on your scans against your atlas (no labels needed).",
        discussion: """
        Each step perturbs training scans by random affines (ranges from the protocol's training \
        section, widened by a curriculum), predicts, warps and minimises −NCC with the atlas. \
        The progress line shows the validation −NCC and the validation TRE (mm) after 1–4 \
        recurrent applications. With --synthetic DIR the items are synthetic subjects of random \
        contrast drawn from the label maps in DIR; the network sees that contrast and the loss \
        warps the subject's T1 rendering. Writes MODEL, MODEL-stem.checkpoint.json, .losses.csv \
        and .losses.png. Ctrl-C stops \
        cleanly after writing a checkpoint and the model; --resume continues from the checkpoint. \
        Same seed and inputs give the same weights.
        """)

    @Option(help: "The atlas (fixed image) the network learns to align to.")
    var atlas: String

    @Option(parsing: .upToNextOption, help: "Training scans: files, folders, glob patterns or list files.")
    var scans: [String] = []

    @Option(help: ArgumentHelp("Train on unlimited synthetic subjects of random contrast drawn from the label maps in this folder (TestVolumes layout); --scans then make a quarter of the items.", valueName: "dir"))
    var synthetic: String?

    @Option(help: ArgumentHelp("Write this many synthetic subjects (NIfTI and samples.png) to --samples-folder and stop.", valueName: "n"))
    var writeSamples: Int?

    @Option(help: "Folder for --write-samples.")
    var samplesFolder: String = "synthetic-samples"

    @Option(help: "Training rotation range, degrees (default: the protocol's trainRotationDegrees).")
    var trainRotation: Double?

    @Option(help: "Training translation range, mm (default: the protocol's trainTranslationMM).")
    var trainTranslation: Double?

    @Option(help: "Training scale range, relative (default: the protocol's trainScale).")
    var trainScale: Double?

    @Option(parsing: .upToNextOption, help: "Held-out validation scans (default: the last training scan is held out when there are several).")
    var validation: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Model file to write (e.g. Protocols/my.stnmodel); required unless --write-samples.")
    var output: String?

    @Option(name: .customLong("protocol"), help: "Protocol whose 'training' section defines the network and its training (default: brain-affine).")
    var protocolName: String?

    @Option(help: "Training steps (default: the protocol's trainSteps).")
    var steps: Int?

    @Option(help: "Random seed (default: the protocol's trainSeed).")
    var seed: UInt64?

    @Flag(help: "Continue from the checkpoint beside the output.")
    var resume = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if let s = steps, s < 1 { throw ValidationError("--steps must be at least 1") }
        if output == nil && writeSamples == nil { throw ValidationError("give the model file to write (-o MODEL)") }
        if scans.isEmpty && synthetic == nil { throw ValidationError("give training scans (--scans) or --synthetic DIR") }
        if writeSamples != nil && synthetic == nil { throw ValidationError("--write-samples needs --synthetic DIR") }
        if let n = writeSamples, n < 1 || n > 100 { throw ValidationError("--write-samples must be 1 to 100") }
        if let r = trainRotation, !(0...180).contains(r) { throw ValidationError("--train-rotation must be 0 to 180 degrees") }
        if let t = trainTranslation, !(0...200).contains(t) { throw ValidationError("--train-translation must be 0 to 200 mm") }
        if let s = trainScale, !(0...0.5).contains(s) { throw ValidationError("--train-scale must be 0 to 0.5") }
    }

    func run() throws {
        var training = try InputExpansion.expand(scans)
        var held = try InputExpansion.expand(validation)
        if held.isEmpty && training.count >= 2 {
            held = [training.removeLast()]
            printError("holding out \(held[0]) for validation (use --validation to choose)")
        }
        var job = TrainJob(atlasPath: atlas, scanPaths: training, validationPaths: held, outputPath: output ?? samplesFolder + "/unused.stnmodel",
                           protocolName: protocolName, steps: steps, seed: seed, threads: compute.threadCount, resume: resume)
        job.syntheticFolder = synthetic
        job.rotationDegrees = trainRotation
        job.translationMM = trainTranslation
        job.scale = trainScale
        if let n = writeSamples {
            for path in try job.writeSamples(to: samplesFolder, count: n) { print("wrote \(path)") }
            return
        }
        let stop = StopFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { stop.set() }
        source.resume()
        defer { source.cancel(); signal(SIGINT, SIG_DFL) }
        var lastValidation = "—"
        let outcome = try job.run(report: { p, rate, total in
            if let v = p.validationLoss {
                lastValidation = String(format: "%.4f", v)
                if let t = p.validationTREByApplications, !t.isEmpty {
                    lastValidation += " (TRE " + t.map { String(format: "%.1f", $0) }.joined(separator: "/") + " mm after 1/2/3/4 applications)"
                }
            }
            let eta = rate > 0 ? Double(max(0, total - p.step)) / rate : 0
            printError(String(format: "step %d/%d  loss %.4f  validation %@  curriculum %.2f  %.2f steps/s  ETA %@",
                              p.step, total, p.loss, lastValidation, p.curriculum, rate, formatDuration(eta)))
        }, shouldStop: { stop.isSet })
        if outcome.stoppedEarly {
            print("stopped at step \(outcome.state.step); checkpoint \(job.checkpointPath), model \(outcome.modelPath) (resume with --resume)")
        } else {
            print("wrote \(outcome.modelPath) after \(outcome.state.step) steps; loss curve \(job.csvPath), \(job.plotPath)")
        }
    }
}

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
}

/// Set from the SIGINT handler's queue, read by the training loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
