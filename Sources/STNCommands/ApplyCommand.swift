import ArgumentParser
import Sampling
import TransformIO
import Workflows

extension Interpolation: ExpressibleByArgument {}
extension TransformFormat: ExpressibleByArgument {}

/// `stnreg apply TRANSFORM MOVING --reference REF -o OUT`: reuse a transform on another volume.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Resample a volume through a transform (stnreg JSON, ITK text, ANTs .mat, FSL .mat, NiftyReg, LTA).",
        discussion: """
        Without --inverse MOVING is in scan space and --reference is the atlas (or any image on \
        the grid you want). With --inverse MOVING is in atlas space (e.g. an atlas label map) and \
        --reference is the scan. FSL matrices need both headers, which these two files provide.
        """)

    @Argument(help: "Transform file.")
    var transform: String

    @Argument(help: "The volume to resample (3D or 4D).")
    var moving: String

    @Option(help: "The image whose grid the output takes.")
    var reference: String

    @Option(name: [.short, .customLong("output")], help: "Output NIfTI path.")
    var output: String

    @Option(help: "linear (default) or nearest (label maps).")
    var interpolation: Interpolation = .linear

    @Flag(help: "Apply the inverse transform (atlas space → scan space).")
    var inverse = false

    @Option(help: "Transform format when it cannot be told from the file: stnreg (its JSON), itkText, antsMat, fsl, niftyReg, lta.")
    var format: TransformFormat?

    @OptionGroup var compute: ComputeOptions

    @Option(help: "Audit log to append this run's record to (default: stnreg-audit.jsonl in the output's folder).")
    var auditLog: String?

    @OptionGroup var signing: SigningOptions

    func run() throws {
        let signer = try signing.signer()
        try ApplyJob(transformPath: transform, movingPath: moving, referencePath: reference, outputPath: output,
                     interpolation: interpolation, inverse: inverse, format: format, threads: compute.threadCount)
            .runAndAudit(log: auditLog, signer: signer)
        print("wrote \(output)")
    }
}
