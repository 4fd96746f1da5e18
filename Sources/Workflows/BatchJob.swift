import AuditLog
import Foundation
import Hashing
import NIfTIIO
import Registration
import VolumeCore

/// `stnreg batch`: many scans (and 4D series) against one atlas, in parallel, resumable,
/// shardable across a cluster (DESIGN.md, "Scale beyond one machine").
///
/// **Items.** Each input file is one item, named by its file name (names must be unique in a
/// batch: outputs and shard assignment are keyed by them). A 3D scan is registered exactly as
/// `stnreg align` would (``AlignJob``: same outputs, same bytes); a 4D series goes through
/// ``SeriesJob`` (every frame to the atlas, or to frame N with `toFrame`). Output prefix:
/// `OUTDIR/<stem>_space-<atlas stem>_desc-<transform>` (to an atlas) or
/// `OUTDIR/<stem>_space-frame<N>_desc-<transform>` (to a frame), where `<transform>` is the
/// protocol's model (`affine`, `rigid`, `similarity`).
///
/// **Audit.** One record per item, appended (flock + fsync) only after all of the item's outputs
/// are in place, to the shared log (`OUTDIR/stnreg-audit.jsonl`, or
/// `OUTDIR/stnreg-audit.shard-K-of-N.jsonl` for a shard, or `auditLogPath`). Scans get an
/// `align` record, series a `series` record (per-frame `atlasToScan` and flags under `frames`);
/// both carry `batch: {item, kind, prefix, shard}`. A failing item — unreadable file, registration
/// error, or a failing quality flag (``QualityFlag/isFailure``; its outputs are still written and
/// listed) — gets a record with `status: "failed"` and the batch goes on.
///
/// **Resume.** Unless `force`, an item is skipped when the log's last record for it (same item
/// name and prefix) has status `ok`, the same input, atlas and protocol SHA-256 as now, and every
/// output it lists exists with the recorded SHA-256. An item with outputs but no record (a run
/// killed in between) or whose last record failed is run again. The log must verify (chain and
/// records) before anything is appended. A sharded batch also reads the other shard logs in the
/// output folder (`stnreg-audit.shard-*-of-*.jsonl`, as they are: complete records only), and a
/// later record there counts as the item's last: an item that moved to another shard because
/// the input list changed is skipped, not done twice.
///
/// **Parallelism.** `jobs` workers (at most one per item) pull items in input order; each item is
/// read only when a worker takes it. Each registration uses `max(1, threads / workers)` threads;
/// registration results do not depend on the thread count.
///
/// Files by concern: planning (``plan()``, BatchPlan.swift), the worker threads (BatchWorkers.swift),
/// one item's run (BatchItemRunner.swift), resume (BatchResume.swift), the records (BatchRecords.swift).
public struct BatchJob: Sendable {
    /// The atlas (required unless every item is registered to its own frame with `toFrame`).
    public var atlasPath: String?
    /// Input files, already expanded (``InputExpansion/expand(_:)``).
    public var inputs: [String]
    public var outputFolder: String
    /// `--protocol NAME|PATH`; nil: `brain-affine`, or `rigid-same-subject` with `toFrame`.
    public var protocolName: String?
    public var useNetwork: Bool
    /// Register each series' frames to this frame (0-based) instead of the atlas (motion correction).
    public var toFrame: Int?
    /// Parallel workers.
    public var jobs: Int
    /// Threads for the whole batch (shared among the workers).
    public var threads: Int
    /// nil: ``defaultLogPath``.
    public var auditLogPath: String?
    /// Redo items that are already done.
    public var force: Bool
    /// Signs every record the batch appends (nil: unsigned).
    public var signer: AuditSigner? = nil
    /// NaN/±Inf voxels in the inputs and atlas: refuse (default) or set to 0 (`--non-finite zero`).
    public var nonFinite: NonFinitePolicy = .reject
    /// Cost-function masks by naming rule (`--scan-mask-suffix _mask`): scan `DIR/X.nii.gz` uses
    /// the mask `DIR/X_mask.nii.gz` (or `.nii`), which must exist; inputs whose name ends in the
    /// suffix are masks, not scans, and are left out of the items. Nil: no scan masks.
    public var scanMaskSuffix: String? = nil
    /// One atlas cost-function mask for every item (`--atlas-mask`).
    public var atlasMaskPath: String? = nil
    public var shard: Shard?
    public var commandLine: [String]

    public init(atlasPath: String?, inputs: [String], outputFolder: String, protocolName: String? = nil, useNetwork: Bool = true,
                toFrame: Int? = nil, jobs: Int = ThreadPolicy.defaultThreadCount, threads: Int = ThreadPolicy.defaultThreadCount,
                auditLogPath: String? = nil, force: Bool = false, shard: Shard? = nil, commandLine: [String] = CommandLine.arguments) {
        self.atlasPath = atlasPath
        self.inputs = inputs
        self.outputFolder = outputFolder
        self.protocolName = protocolName
        self.useNetwork = useNetwork
        self.toFrame = toFrame
        self.jobs = jobs
        self.threads = threads
        self.auditLogPath = auditLogPath
        self.force = force
        self.shard = shard
        self.commandLine = commandLine
    }

    /// `OUTDIR/stnreg-audit.jsonl`, or `OUTDIR/stnreg-audit.shard-K-of-N.jsonl` for a shard.
    public var defaultLogPath: String {
        (outputFolder as NSString).appendingPathComponent(shard?.logName ?? AuditHook.defaultLogName)
    }

    /// The log records are appended to.
    public var logPath: String { auditLogPath ?? defaultLogPath }

    /// The protocol name or path used.
    public var effectiveProtocol: String {
        protocolName ?? (toFrame != nil ? SeriesJob.defaultProtocol(for: .frame(0)) : RegistrationProtocol.defaultName)
    }

    /// One input of the batch.
    public struct Item: Sendable, Equatable, Codable {
        /// The input path as given.
        public var input: String
        /// Its file name: the item's key.
        public var name: String
        /// Output prefix.
        public var prefix: String
    }

    /// What happened to an item.
    public enum Status: String, Sendable, Codable {
        case done, skipped, failed
    }

    /// One item's outcome.
    public struct ItemResult: Sendable, Codable {
        public var item: Item
        public var status: Status
        /// `scan` or `series` (nil when the file could not be read).
        public var kind: String?
        public var frames: Int?
        /// Final similarity (global NCC); for a series, the lowest over frames.
        public var similarityAfter: Double?
        public var flags: [String]
        /// The error, for a failed item; for a skipped item, why.
        public var message: String?
        public var seconds: Double
        /// The main outputs (none when the item did not get as far as writing them).
        public var outputs: MainOutputs
    }

    /// An item's warped image and transform JSON (a series' `_transforms.json`); both nil
    /// before they are written (JSON `{}`).
    public struct MainOutputs: Codable, Sendable, Equatable {
        public var warped: String?
        public var transform: String?
        public init(warped: String? = nil, transform: String? = nil) { self.warped = warped; self.transform = transform }
    }

    /// Reported after each item finishes.
    public struct Progress: Sendable {
        public var total: Int
        /// Items finished (done, skipped or failed).
        public var finished: Int
        public var failed: Int
        public var skipped: Int
        public var elapsedSeconds: Double
        /// Items run (not skipped) per second so far.
        public var itemsPerSecond: Double
        /// Estimated seconds to go (nil until an item has run).
        public var etaSeconds: Double?
        public var latest: ItemResult
    }

    /// The whole batch.
    public struct Summary: Sendable, Codable {
        /// In input order.
        public var results: [ItemResult]
        public var logPath: String
        public var shard: String?
        /// Items in the input that belong to other shards.
        public var otherShards: Int
        public var workers: Int
        public var threadsPerRegistration: Int
        public var seconds: Double
        /// Whether the log exists after the run (false when nothing was ever recorded in it,
        /// e.g. a shard that got no items).
        public var logExists: Bool
        public var done: Int { results.filter { $0.status == .done }.count }
        public var skipped: Int { results.filter { $0.status == .skipped }.count }
        public var failed: Int { results.filter { $0.status == .failed }.count }
    }

    /// Errors that stop the batch before any item runs.
    public struct BatchError: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Runs the batch. `progress` is called after each item, one call at a time (from worker threads).
    public func run(progress: (@Sendable (Progress) -> Void)? = nil) throws -> Summary {
        let clock = Stopwatch()
        @Sendable func elapsed() -> Double { clock.total }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outputFolder, isDirectory: &isDir), isDir.boolValue else {
            throw BatchError("the output folder \(outputFolder) does not exist; create it first")
        }
        guard jobs >= 1, threads >= 1 else { throw BatchError("--jobs and --threads must be at least 1") }
        let (items, otherShards) = try plan()
        let log = logPath
        let others = shard == nil ? [] : BatchResume.otherShardLogs(in: outputFolder, besides: log)
        let resume = BatchResume(previous: try BatchResume.lastRecords(log: log, otherLogs: others), toFrame: toFrame,
                                 atlasSHA: atlasPath.flatMap { try? SHA256.hex(ofFile: $0) },
                                 protocolSHA: (try? ProtocolLocator.resolve(effectiveProtocol)).flatMap { try? SHA256.hex(ofFile: $0) })
        // Leftovers of a killed run; a failure here only leaves hidden files behind.
        _ = try? AtomicFile.removeStaleTemporaries(in: outputFolder)
        let workers = max(1, min(jobs, items.count))
        let threadsEach = max(1, threads / workers)
        let runner = BatchItemRunner(job: self, log: log, resume: resume, threads: threadsEach)
        let results = BatchWorkers.run(count: items.count, workers: workers, work: { runner.run(items[$0]) }) { counts, latest in
            let seconds = elapsed()
            let rate = counts.run > 0 ? Double(counts.run) / seconds : 0
            let eta: Double? = counts.run > 0 ? Double(items.count - counts.finished) / rate : nil
            progress?(Progress(total: items.count, finished: counts.finished, failed: counts.failed, skipped: counts.skipped,
                               elapsedSeconds: seconds, itemsPerSecond: rate, etaSeconds: eta, latest: latest))
        }
        return Summary(results: results, logPath: log, shard: shard?.description, otherShards: otherShards,
                       workers: workers, threadsPerRegistration: threadsEach, seconds: elapsed(),
                       logExists: FileManager.default.fileExists(atPath: log))
    }
}
