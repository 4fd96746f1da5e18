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
/// records) before anything is appended.
///
/// **Parallelism.** `jobs` workers (at most one per item) pull items in input order; each item is
/// read only when a worker takes it. Each registration uses `max(1, threads / workers)` threads;
/// registration results do not depend on the thread count.
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
    public var shard: Shard?
    public var commandLine: [String]
    /// Signs every record the batch appends (nil: unsigned).
    public var signer: AuditSigner? = nil
    /// NaN/±Inf voxels in the inputs and atlas: refuse (default) or set to 0 (`--non-finite zero`).
    public var nonFinite: NonFinitePolicy = .reject

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
        /// The main outputs (warped image and transform JSON).
        public var outputs: [String: String]
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
        public var done: Int { results.filter { $0.status == .done }.count }
        public var skipped: Int { results.filter { $0.status == .skipped }.count }
        public var failed: Int { results.filter { $0.status == .failed }.count }
    }

    /// Errors that stop the batch before any item runs.
    public struct BatchError: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The items of this batch (this shard's only), in input order. Throws on duplicate names.
    public func plan() throws -> (items: [Item], otherShards: Int) {
        guard toFrame != nil || atlasPath != nil else { throw BatchError("give an atlas (--atlas), or --to-frame N to register each series to its own frame") }
        if let f = toFrame, f < 0 { throw BatchError("--to-frame must be 0 or more (frames are numbered from 0)") }
        let (settings, _) = try ProtocolLocator.load(effectiveProtocol)
        let space = toFrame.map { "frame\($0)" } ?? AlignJob.fileStem(atlasPath!)
        var seen: [String: String] = [:]
        var items: [Item] = []
        var others = 0
        for input in inputs {
            let name = URL(fileURLWithPath: input).lastPathComponent
            if let first = seen[name] {
                throw BatchError("\(input) and \(first) have the same file name; batch names outputs and shards by file name, so rename or link one of them")
            }
            seen[name] = input
            if let atlas = atlasPath, AtomicFile.canonical(atlas) == AtomicFile.canonical(input) {
                throw BatchError("\(input) is the atlas itself; remove it from the inputs")
            }
            if let shard, !shard.contains(input: input) { others += 1; continue }
            let prefix = (outputFolder as NSString).appendingPathComponent(
                "\(AlignJob.fileStem(input))_space-\(space)_desc-\(settings.transform.rawValue)")
            items.append(Item(input: input, name: name, prefix: prefix))
        }
        return (items, others)
    }

    /// Runs the batch. `progress` is called after each item, one call at a time (from worker threads).
    public func run(progress: (@Sendable (Progress) -> Void)? = nil) throws -> Summary {
        let clock = DispatchTime.now().uptimeNanoseconds
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outputFolder, isDirectory: &isDir), isDir.boolValue else {
            throw BatchError("the output folder \(outputFolder) does not exist; create it first")
        }
        guard jobs >= 1, threads >= 1 else { throw BatchError("--jobs and --threads must be at least 1") }
        let (items, others) = try plan()
        let log = logPath
        let previous = try lastRecords(log: log)
        BatchJob.removeStaleTemporaries(in: outputFolder)
        let workers = max(1, min(jobs, items.count))
        let threadsEach = max(1, threads / workers)
        let context = ItemContext(job: self, log: log, previous: previous, threads: threadsEach,
                                  atlasSHA: atlasPath.flatMap { try? SHA256.hex(ofFile: $0) },
                                  protocolSHA: (try? ProtocolLocator.resolve(effectiveProtocol)).flatMap { try? SHA256.hex(ofFile: $0) })

        let state = RunState(count: items.count)
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let thread = Thread {
                while let i = state.next() {
                    let r = context.run(items[i])
                    state.finish(i, r) { finished, failed, skipped, run in
                        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9
                        let rate = run > 0 ? Double(run) / elapsed : 0
                        let eta: Double? = run > 0 ? Double(items.count - finished) / rate : nil
                        progress?(Progress(total: items.count, finished: finished, failed: failed, skipped: skipped,
                                           elapsedSeconds: elapsed, itemsPerSecond: rate, etaSeconds: eta, latest: r))
                    }
                }
                group.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        return Summary(results: state.allResults(), logPath: log, shard: shard?.description, otherShards: others,
                       workers: workers, threadsPerRegistration: threadsEach,
                       seconds: Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9)
    }

    /// The last record of each batch item (by `batch.prefix`) in the log; empty when there is no log yet.
    /// Throws when the log does not verify (nothing is appended to a damaged log).
    func lastRecords(log: String) throws -> [String: AuditRecord] {
        guard FileManager.default.fileExists(atPath: log) else { return [:] }
        let check = try AuditVerifier.verify(path: log, checkOutputs: false)
        if let p = check.problems.first(where: { $0.kind.isDamage }) {
            throw BatchError("\(log): the audit log does not verify (line \(p.line): \(p.kind.rawValue): \(p.detail)); run `stnreg audit verify \(log)`, or give another --audit-log")
        }
        var last: [String: AuditRecord] = [:]
        for r in try AuditLogFile(path: log).readRecords() {
            if let prefix = r.fields["batch"]?["prefix"]?.string { last[prefix] = r }
        }
        return last
    }

    /// Removes `.NAME.tmp-PID-…` files in `folder` left by processes that no longer run
    /// (a batch killed while writing). Files of running processes are left alone.
    static func removeStaleTemporaries(in folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(".") {
            guard let r = name.range(of: ".tmp-", options: .backwards) else { continue }
            let pidText = name[r.upperBound...].prefix { $0.isNumber }
            guard let pid = Int32(pidText), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink((folder as NSString).appendingPathComponent(name))
            }
        }
    }
}

/// The shared, read-only context of a batch's workers.
private struct ItemContext: Sendable {
    let job: BatchJob
    let log: String
    let previous: [String: AuditRecord]
    let threads: Int
    let atlasSHA: String?
    let protocolSHA: String?

    func run(_ item: BatchJob.Item) -> BatchJob.ItemResult {
        let clock = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9 }
        var result = BatchJob.ItemResult(item: item, status: .done, kind: nil, frames: nil, similarityAfter: nil, flags: [],
                                         message: nil, seconds: 0, outputs: [:])
        if !job.force, let reason = doneBefore(item) {
            result.status = .skipped
            result.message = reason
            result.kind = previous[absolute(item.prefix)]?.fields["batch"]?["kind"]?.string
            return result
        }
        let batchValue: (String) -> AuditValue = { kind in
            ["item": .string(item.name), "kind": .string(kind), "prefix": .string(absolute(item.prefix)),
             "shard": .optional(job.shard?.description)]
        }
        let frames: Int
        do {
            let header = try NIfTIReader.readHeader(item.input)
            frames = header.frameCount
        } catch {
            return fail(&result, kind: nil, error: error, seconds: seconds(), batch: batchValue("scan"))
        }
        if frames == 1 {
            result.kind = "scan"
            result.frames = 1
            if job.toFrame != nil {
                let e = AlignError("\(item.input): a 3D scan; --to-frame registers the frames of 4D series, so this item has nothing to do")
                return fail(&result, kind: "scan", error: e, seconds: seconds(), batch: batchValue("scan"))
            }
            var align = AlignJob(scanPath: item.input, atlasPath: job.atlasPath!, prefix: item.prefix, protocolName: job.protocolName,
                                 threads: threads, commandLine: job.commandLine, useNetwork: job.useNetwork)
            align.nonFinite = job.nonFinite
            do {
                let outcome = try align.run()
                var p = try AuditHook.alignRecord(job: align, outcome: outcome)
                p["batch"] = batchValue("scan")
                let bad = outcome.record.flags.filter(\.isFailure)
                result.similarityAfter = outcome.record.similarityAfter
                result.flags = outcome.record.flags.map(\.rawValue)
                result.outputs = ["warped": outcome.outputs["warped"]!, "transform": outcome.outputs["transform"]!]
                if !bad.isEmpty {
                    let e = "quality check failed: \(bad.map(\.rawValue).joined(separator: ", ")) (outputs written for review)"
                    p["status"] = "failed"
                    p["error"] = .string(e)
                    result.status = .failed
                    result.message = e
                }
                try AuditHook.append(p, to: log, signer: job.signer)
            } catch {
                var p = AuditHook.alignFailureRecord(job: align, error: error)
                p["batch"] = batchValue("scan")
                result.status = .failed
                result.message = String(describing: error)
                do { try AuditHook.append(p, to: log, failure: error, signer: job.signer) } catch { result.message = String(describing: error) }
            }
        } else {
            result.kind = "series"
            result.frames = frames
            let reference: SeriesJob.Reference = job.toFrame.map { .frame($0) } ?? .atlas(job.atlasPath!)
            var series = SeriesJob(seriesPath: item.input, reference: reference, prefix: item.prefix, protocolName: job.effectiveProtocol,
                                   useNetwork: job.useNetwork, threads: threads, commandLine: job.commandLine)
            series.nonFinite = job.nonFinite
            do {
                let outcome = try series.run()
                var p = try BatchJob.seriesRecord(job: series, outcome: outcome)
                p["batch"] = batchValue("series")
                result.similarityAfter = outcome.frames.map(\.similarityAfter).min()
                result.flags = Array(Set(outcome.frames.flatMap { $0.flags.map(\.rawValue) })).sorted()
                result.outputs = ["warped": outcome.outputs["warped"]!, "transform": outcome.outputs["transforms"]!]
                let bad = outcome.failedFrames
                if !bad.isEmpty {
                    let e = "quality check failed on \(bad.count) of \(frames) frames: "
                        + bad.prefix(5).map { "frame \($0.frame) \($0.flags.map(\.rawValue).joined(separator: "+"))" }.joined(separator: ", ")
                        + (bad.count > 5 ? ", …" : "") + " (outputs written for review)"
                    p["status"] = "failed"
                    p["error"] = .string(e)
                    result.status = .failed
                    result.message = e
                }
                try AuditHook.append(p, to: log, signer: job.signer)
            } catch {
                var p = BatchJob.seriesFailureRecord(job: series, error: error)
                p["batch"] = batchValue("series")
                result.status = .failed
                result.message = String(describing: error)
                do { try AuditHook.append(p, to: log, failure: error, signer: job.signer) } catch { result.message = String(describing: error) }
            }
        }
        result.seconds = seconds()
        return result
    }

    /// Records an item that failed before a job could run (unreadable file, 3D scan with --to-frame).
    private func fail(_ r: inout BatchJob.ItemResult, kind: String?, error: Error, seconds: Double, batch: AuditValue) -> BatchJob.ItemResult {
        r.status = .failed
        r.kind = kind
        r.message = String(describing: error)
        r.seconds = seconds
        var p = AuditHook.common(command: kind == "series" ? "series" : "align", commandLine: job.commandLine)
        p["status"] = "failed"
        p["error"] = .string(String(describing: error))
        p["protocol"] = AuditHook.protocolValue(job.effectiveProtocol)
        var inputs = [AuditHook.imageInput(role: "scan", path: r.item.input)]
        if let a = job.atlasPath, job.toFrame == nil { inputs.append(AuditHook.imageInput(role: "atlas", path: a)) }
        p["inputs"] = .array(inputs)
        p["threads"] = .int(Int64(threads))
        p["batch"] = batch
        do { try AuditHook.append(p, to: log, failure: error, signer: job.signer) } catch { r.message = String(describing: error) }
        return r
    }

    /// Why the item counts as done (nil when it must run): its last record is `ok`, for the same
    /// input, atlas and protocol bytes, and every output it lists is there with its recorded hash.
    private func doneBefore(_ item: BatchJob.Item) -> String? {
        guard let r = previous[absolute(item.prefix)], r.fields["status"]?.string == "ok" else { return nil }
        let inputs = r.fields["inputs"]?.array ?? []
        func sha(_ role: String) -> String? { inputs.first { $0["role"]?.string == role }?["sha256"]?.string }
        guard let inputSHA = sha("scan"), inputSHA == (try? SHA256.hex(ofFile: item.input)) else { return nil }
        if job.toFrame == nil {
            guard let a = sha("atlas"), a == atlasSHA else { return nil }
        }
        guard let p = r.fields["protocol"]?["sha256"]?.string, p == protocolSHA else { return nil }
        guard let outputs = r.fields["outputs"]?.array, !outputs.isEmpty else { return nil }
        for o in outputs {
            guard let path = o["path"]?.string, let recorded = o["sha256"]?.string,
                  let now = try? SHA256.hex(ofFile: path), now == recorded else { return nil }
        }
        return "done before (\(r.fields["time"]?.string ?? "?"), log line \(r.line)); outputs verify"
    }

    private func absolute(_ p: String) -> String { AuditHook.absolute(p) }
}

/// Hands out item indices and collects results; `finish` reports under the lock so progress
/// callbacks never overlap.
private final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private let count: Int
    private var results: [BatchJob.ItemResult?]
    private var finished = 0, failed = 0, skipped = 0, run = 0

    init(count: Int) {
        self.count = count
        results = Array(repeating: nil, count: count)
    }

    /// Every result, in item order (call after the workers are done).
    func allResults() -> [BatchJob.ItemResult] {
        lock.lock(); defer { lock.unlock() }
        return results.map { $0! }
    }

    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard nextIndex < count else { return nil }
        defer { nextIndex += 1 }
        return nextIndex
    }

    func finish(_ i: Int, _ r: BatchJob.ItemResult, report: (_ finished: Int, _ failed: Int, _ skipped: Int, _ run: Int) -> Void) {
        lock.lock(); defer { lock.unlock() }
        results[i] = r
        finished += 1
        switch r.status {
        case .failed: failed += 1; run += 1
        case .skipped: skipped += 1
        case .done: run += 1
        }
        report(finished, failed, skipped, run)
    }
}

extension BatchJob {
    /// The audit record of a registered series: inputs, protocol, model, per-frame transforms
    /// (`frames: [{frame, atlasToScan, decomposition, similarity, flags}]`) and every output.
    /// The top-level `atlasToScan` is null (there is one per frame).
    static func seriesRecord(job: SeriesJob, outcome: SeriesJob.Outcome) throws -> [String: AuditValue] {
        var p = AuditHook.common(command: "series", commandLine: job.commandLine)
        var proto = AuditHook.protocolValue(job.effectiveProtocol)
        if case .object(var o) = proto {
            o["name"] = .string(outcome.protocolRef.name)
            o["path"] = .string(AuditHook.absolute(outcome.protocolRef.path))
            o["sha256"] = .string(outcome.protocolRef.sha256)
            proto = .object(o)
        }
        p["protocol"] = proto
        var inputs = [AuditHook.input(role: "scan", outcome.series)]
        if case .atlas = job.reference { inputs.append(AuditHook.input(role: "atlas", outcome.reference)) }
        p["inputs"] = .array(inputs)
        if case .frame(let n) = job.reference { p["referenceFrame"] = .int(Int64(n)) }
        if let m = outcome.model { p["model"] = ["sha256": .string(m.sha256), "path": .string(AuditHook.absolute(m.path))] }
        p["frames"] = .array(outcome.frames.enumerated().map { t, r in
            ["frame": .int(Int64(t)), "atlasToScan": AuditHook.matrix(r.atlasToScan), "decomposition": AuditHook.decomposition(r.atlasToScan),
             "similarity": ["measure": .string(r.similarityMeasure), "before": .number(r.similarityBefore), "after": .number(r.similarityAfter)],
             "iterations": .int(Int64(r.levels.reduce(0) { $0 + $1.iterations })), "flags": .array(r.flags.map { .string($0.rawValue) })]
        })
        p["iterations"] = .int(Int64(outcome.frames.reduce(0) { $0 + $1.levels.reduce(0) { $0 + $1.iterations } }))
        p["timingsSeconds"] = ["wall": .number(outcome.seconds)]
        p["threads"] = .int(Int64(job.threads))
        p["flags"] = .array(Array(Set(outcome.frames.flatMap { $0.flags.map(\.rawValue) })).sorted().map(AuditValue.string))
        p["outputs"] = try AuditHook.outputs(outcome.outputs)
        p["nonFinite"] = AuditHook.nonFiniteValue(job.nonFinite, replaced: outcome.nonFiniteReplaced)
        return p
    }

    /// The audit record of a series that could not be registered.
    static func seriesFailureRecord(job: SeriesJob, error: Error) -> [String: AuditValue] {
        var p = AuditHook.common(command: "series", commandLine: job.commandLine)
        p["status"] = "failed"
        p["error"] = .string(String(describing: error))
        p["protocol"] = AuditHook.protocolValue(job.effectiveProtocol)
        var inputs = [AuditHook.imageInput(role: "scan", path: job.seriesPath)]
        if case .atlas(let a) = job.reference { inputs.append(AuditHook.imageInput(role: "atlas", path: a)) }
        p["inputs"] = .array(inputs)
        if case .frame(let n) = job.reference { p["referenceFrame"] = .int(Int64(n)) }
        p["threads"] = .int(Int64(job.threads))
        p["nonFinite"] = AuditHook.nonFiniteValue(job.nonFinite, replaced: [:])
        return p
    }
}
