import ArgumentParser
import Foundation
import VolumeCore
import Workflows

/// `stnreg batch --atlas ATLAS INPUTS… -o OUTDIR`: many scans and 4D series, in parallel,
/// resumable, shardable.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Register many scans and 4D series to one atlas: parallel, resumable, shardable across a cluster.",
        discussion: """
        Each 3D scan gets the outputs of `stnreg align` under OUTDIR/<stem>_space-<atlas>_desc-<model>; \
        each 4D series gets <prefix>_warped.nii.gz (all frames aligned), <prefix>_transforms.json \
        (one transform record per frame), <prefix>_motion.csv and <prefix>_motion.png (translation \
        and rotation per frame). One audit record per item, written after its outputs. Re-running \
        skips items whose record and outputs verify (--force redoes them); failed items are \
        recorded, the batch goes on, and the exit status is 1 when any failed. --shard K/N runs \
        the K-th of N balanced parts (names sorted, dealt round-robin) with its own log; join the logs with `stnreg audit merge`.
        """)

    @Option(help: "The atlas (fixed image). Not needed with --to-frame.")
    var atlas: String?

    @Argument(help: "Scans and series: NIfTI files, folders, glob patterns or list files.")
    var inputs: [String] = []

    @Option(name: .customLong("list"), help: "A file listing inputs, one path per line (may be repeated).")
    var lists: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Output folder (created if missing).")
    var output: String

    @Option(name: .customLong("protocol"), help: "Preset name or protocol .json (default: brain-affine; rigid-same-subject with --to-frame).")
    var protocolName: String?

    @Option(name: .customLong("to-frame"), help: "Register each 4D series' frames to its frame N (0-based; motion correction) instead of the atlas.")
    var toFrame: Int?

    @Flag(help: "Do not use the protocol's spatial transformer: initialise by the exhaustive rotation search instead.")
    var noNetwork = false

    @Option(help: "Parallel registrations (default: the number of cores). Each uses max(1, threads / jobs) threads.")
    var jobs: Int?

    @OptionGroup var compute: ComputeOptions

    @Option(help: "Run only part K of N (K = 1…N), e.g. --shard $SLURM_ARRAY_TASK_ID/8; its log is OUTDIR/stnreg-audit.shard-K-of-N.jsonl.")
    var shard: String?

    @Option(help: "NaN or infinite voxels: reject the file (default), or zero: treat them as background (0); the count is recorded in the audit record.")
    var nonFinite: NonFiniteChoice = .reject

    @Option(help: "Cost-function masks by name: scan DIR/X.nii.gz uses DIR/X<SUFFIX>.nii.gz (binary, 1 = use), which must exist; inputs named so are masks, not scans. E.g. --scan-mask-suffix _mask.")
    var scanMaskSuffix: String?

    @Option(help: "Cost-function mask on the atlas's grid for every item (binary NIfTI, 1 = use).")
    var atlasMask: String?

    @Option(help: "Audit log (default: OUTDIR/stnreg-audit.jsonl, or the shard's log).")
    var auditLog: String?

    @OptionGroup var signing: SigningOptions

    @Flag(help: "Redo items that are already done.")
    var force = false

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    func validate() throws {
        if inputs.isEmpty && lists.isEmpty { throw ValidationError("give inputs (files, folders, globs) or --list FILE") }
        if atlas == nil && toFrame == nil { throw ValidationError("give --atlas ATLAS, or --to-frame N to register each series to its own frame") }
        if let j = jobs, j < 1 || j > 256 { throw ValidationError("--jobs must be between 1 and 256") }
        if let f = toFrame, f < 0 { throw ValidationError("--to-frame must be 0 or more (frames are numbered from 0)") }
        if let s = shard { _ = try Shard.parse(s) }
    }

    func run() throws {
        let signer = try signing.signer()
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var job = BatchJob(atlasPath: atlas, inputs: try InputExpansion.expand(inputs + lists), outputFolder: output,
                           protocolName: protocolName, useNetwork: !noNetwork, toFrame: toFrame,
                           jobs: jobs ?? ThreadPolicy.defaultThreadCount, threads: compute.threadCount,
                           auditLogPath: auditLog, force: force, shard: try shard.map(Shard.parse))
        job.signer = signer
        job.nonFinite = nonFinite.policy
        job.scanMaskSuffix = scanMaskSuffix
        job.atlasMaskPath = atlasMask
        let display = BatchProgressDisplay(terminal: isatty(2) == 1, quiet: quiet)
        let summary = try job.run(progress: { display.show($0) })
        display.finish()
        print(json ? try JSONText.encode(BatchSummaryJSON(summary)) : BatchSummaryText.table(summary))
        if summary.failed > 0 { throw ExitCode(1) }
    }
}

/// A progress bar redrawn with `\r` on a terminal; one plain line per item otherwise.
final class BatchProgressDisplay: @unchecked Sendable {
    private let terminal: Bool
    private let quiet: Bool
    private var drawn = false

    init(terminal: Bool, quiet: Bool) {
        self.terminal = terminal
        self.quiet = quiet
    }

    /// Called by the batch one item at a time.
    func show(_ p: BatchJob.Progress) {
        guard !quiet else { return }
        let r = p.latest
        let eta = p.etaSeconds.map(formatDuration) ?? "—"
        let rate = p.itemsPerSecond * 60
        if terminal {
            let width = 30
            let filled = p.total > 0 ? width * p.finished / p.total : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            var line = String(format: "\r[%@] %d/%d  %.1f/min  ETA %@", bar, p.finished, p.total, rate, eta)
            if p.skipped > 0 { line += "  skipped \(p.skipped)" }
            if p.failed > 0 { line += "  failed \(p.failed)" }
            if r.status == .failed {
                // Keep failures visible above the bar.
                FileHandle.standardError.write(Data(("\r\u{1B}[Kstnreg: FAILED \(r.item.name): \(r.message ?? "")\n").utf8))
            }
            FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
            drawn = true
        } else {
            var line = "[\(p.finished)/\(p.total)] \(r.status.rawValue) \(r.item.name)"
            switch r.status {
            case .done: line += String(format: " (%.1f s)", r.seconds)
            case .failed: line += ": " + (r.message ?? "")
            case .skipped: break
            }
            line += String(format: "  %.1f/min  ETA %@  failed %d", rate, eta, p.failed)
            printError(line)
        }
    }

    /// Ends the bar's line.
    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

enum BatchSummaryText {
    static func table(_ s: BatchJob.Summary) -> String {
        var lines: [String] = []
        let nameWidth = min(48, max(4, s.results.map(\.item.name.count).max() ?? 4))
        func pad(_ t: String, _ w: Int) -> String { t.count >= w ? String(t.prefix(w)) : t + String(repeating: " ", count: w - t.count) }
        lines.append(pad("status", 8) + pad("item", nameWidth + 2) + pad("kind", 8) + pad("frames", 7) + pad("NCC after", 10) + pad("seconds", 9) + "flags / error")
        for r in s.results {
            let sim = r.similarityAfter.map { String(format: "%.4f", $0) } ?? "—"
            let secs = r.status == .skipped ? "—" : String(format: "%.1f", r.seconds)
            let note = r.status == .failed ? (r.message ?? "") : r.flags.joined(separator: ", ")
            lines.append(pad(r.status.rawValue, 8) + pad(r.item.name, nameWidth + 2) + pad(r.kind ?? "—", 8)
                         + pad(r.frames.map(String.init) ?? "—", 7) + pad(sim, 10) + pad(secs, 9) + note)
        }
        var total = "\(s.results.count) items: \(s.done) done, \(s.skipped) skipped, \(s.failed) failed"
        if let shard = s.shard { total += "  (shard \(shard); \(s.otherShards) items in other shards)" }
        total += String(format: "  in %.1f s with %d worker%@ × %d thread%@", s.seconds, s.workers, s.workers == 1 ? "" : "s",
                        s.threadsPerRegistration, s.threadsPerRegistration == 1 ? "" : "s")
        lines.append(total)
        if s.results.isEmpty {
            lines.append("no items in this \(s.shard == nil ? "batch" : "shard"): nothing to do, no audit log written")
        } else {
            lines.append(s.logExists ? "audit log: \(s.logPath)" : "no audit log written")
        }
        return lines.joined(separator: "\n")
    }
}

/// `--json`: the summary with its counts.
struct BatchSummaryJSON: Encodable {
    var items: [BatchJob.ItemResult]
    var done: Int, skipped: Int, failed: Int
    /// nil when no log was written (a shard with no items).
    var auditLog: String?
    var shard: String?
    var otherShards: Int
    var workers: Int
    var threadsPerRegistration: Int
    var seconds: Double

    init(_ s: BatchJob.Summary) {
        items = s.results
        done = s.done; skipped = s.skipped; failed = s.failed
        auditLog = s.logExists ? s.logPath : nil; shard = s.shard; otherShards = s.otherShards
        workers = s.workers; threadsPerRegistration = s.threadsPerRegistration; seconds = s.seconds
    }
}
