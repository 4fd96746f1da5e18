import AuditLog
import Foundation

/// The audit records of batch items (scans get ``AuditHook/alignRecord(job:outcome:)``).
extension BatchJob {
    /// The `batch` field of every batch record: `{item, kind, prefix (absolute), shard}`.
    static func batchField(item: Item, kind: String, shard: Shard?) -> AuditValue {
        ["item": .string(item.name), "kind": .string(kind), "prefix": .string(AuditHook.absolute(item.prefix)),
         "shard": .optional(shard?.description)]
    }

    /// The record of an item that failed before a job could run (unreadable file, 3D scan with
    /// `--to-frame`): command `align` (or `series`), status `failed`, the error, protocol, inputs, threads.
    static func itemFailureRecord(job: BatchJob, item: Item, kind: String?, error: Error, threads: Int) -> [String: AuditValue] {
        var p = AuditHook.common(command: kind == "series" ? "series" : "align", commandLine: job.commandLine)
        p["status"] = "failed"
        p["error"] = .string(String(describing: error))
        p["protocol"] = AuditHook.protocolValue(job.effectiveProtocol)
        var inputs = [AuditHook.imageInput(role: "scan", path: item.input)]
        if let a = job.atlasPath, job.toFrame == nil { inputs.append(AuditHook.imageInput(role: "atlas", path: a)) }
        p["inputs"] = .array(inputs)
        p["threads"] = .int(Int64(threads))
        return p
    }

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
        p["outputs"] = try AuditHook.outputs(outcome.outputs.byRole)
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
        p["nonFinite"] = AuditHook.nonFiniteValue(job.nonFinite, replaced: [:])
        p["threads"] = .int(Int64(job.threads))
        return p
    }
}
