import ArgumentParser
import Foundation
import Registration
import VolumeCore
import Workflows

/// Options shared by commands that run kernels.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads to use (default: all cores). Results are identical for any value.")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads must be between 1 and 256") }
    }

    var threadCount: Int { threads ?? ThreadPolicy.defaultThreadCount }
}

/// `stnreg align SCAN ATLAS`: one registration, every output.
struct AlignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "align",
        abstract: "Register a scan to an atlas with an affine transform.",
        discussion: """
        Writes, for output prefix P: P_warped.nii.gz (the scan on the atlas grid), \
        P_transform.json (the transform, its decomposition, similarity, flags, timings, input \
        hashes), and the same transform for other tools: P_itk.tfm (ITK/ANTs text), P_ants.mat \
        (ANTs binary), P_fsl.mat (FLIRT), P_niftyreg.txt (reg_aladin) and P.lta (FreeSurfer).
        """)

    @Argument(help: "The scan to move (NIfTI .nii or .nii.gz).")
    var scan: String

    @Argument(help: "The atlas (fixed image); outputs are on its grid.")
    var atlas: String

    @Option(name: [.short, .customLong("output")], help: "Output prefix (default: <scan>_space-<atlas> in the current folder).")
    var output: String?

    @Option(name: .customLong("protocol"), help: "Preset name in Protocols/ or a path to a protocol .json (default: brain-affine).")
    var protocolName: String?

    @Flag(help: "The scan is a label map: resample with nearest neighbour and keep integer labels.")
    var labels = false

    @Flag(help: "Do not use the protocol's spatial transformer: initialise by the exhaustive rotation search instead.")
    var noNetwork = false

    @Flag(name: .shortAndLong, help: "Print only the summary.")
    var quiet = false

    @OptionGroup var compute: ComputeOptions

    @Option(help: "NaN or infinite voxels: reject the file (default), or zero: treat them as background (0); the count is recorded in the audit record.")
    var nonFinite: NonFiniteChoice = .reject

    @Option(help: "Cost-function mask on the scan's grid (binary NIfTI, 1 = use): voxels outside it are ignored by every similarity. Leave lesions, tumours or cavities out of it.")
    var scanMask: String?

    @Option(help: "Cost-function mask on the atlas's grid (binary NIfTI, 1 = use).")
    var atlasMask: String?

    @Option(help: "Audit log to append this run's record to (default: stnreg-audit.jsonl in the output folder).")
    var auditLog: String?

    @OptionGroup var signing: SigningOptions

    func run() throws {
        var job = AlignJob(scanPath: scan, atlasPath: atlas, prefix: output, protocolName: protocolName,
                           labels: labels, threads: compute.threadCount, useNetwork: !noNetwork)
        job.nonFinite = nonFinite.policy
        job.scanMaskPath = scanMask
        job.atlasMaskPath = atlasMask
        let signer = try signing.signer()
        let quiet = self.quiet
        let outcome = try job.runAndAudit(log: auditLog, signer: signer, progress: { line in if !quiet { printError(line) } })
        print(AlignSummary.text(outcome))
    }
}

enum AlignSummary {
    static func text(_ o: AlignJob.Outcome) -> String {
        let r = o.record
        var lines: [String] = []
        lines.append("\(r.scan.path) → \(r.atlas.path)  [\(r.protocolUsed.name)]")
        lines.append(String(format: "  similarity (%@)  %.4f → %.4f", r.similarityMeasure, r.similarityBefore, r.similarityAfter))
        if let d = r.decomposition {
            lines.append(String(format: "  translation      %.2f %.2f %.2f mm", d.translationMM[0], d.translationMM[1], d.translationMM[2]))
            lines.append(String(format: "  rotation         %.2f %.2f %.2f° (%.2f° in all)", d.rotationDegrees[0], d.rotationDegrees[1], d.rotationDegrees[2], d.rotationAngleDegrees))
            lines.append(String(format: "  scale            %.4f %.4f %.4f   shear %.4f %.4f %.4f", d.scale[0], d.scale[1], d.scale[2], d.shear[0], d.shear[1], d.shear[2]))
        }
        let failures = r.flags.filter(\.isFailure), notes = r.flags.filter { !$0.isFailure }
        lines.append("  flags            " + (failures.isEmpty ? "none" : failures.map(\.rawValue).joined(separator: ", ") + " — review this result"))
        if !notes.isEmpty { lines.append("  notes            " + notes.map(\.rawValue).joined(separator: ", ")) }
        lines.append(String(format: "  time             %.2f s", r.timingsSeconds["wall"] ?? 0))
        lines.append("  outputs          " + o.outputs.warped + ", " + o.outputs.transform)
        lines.append("                   " + [.itk, .ants, .fsl, .niftyreg, .lta].map { o.outputs[$0] }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
