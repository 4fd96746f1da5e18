import AuditLog
import Foundation
import Registration

/// The audit records of batch items (scans get ``AuditHook/alignRecord(job:outcome:)``), as
/// ``AuditRecordPayload``s.
extension BatchJob {
    /// The `batch` member of every batch record: `{item, kind, prefix (absolute), shard}`.
    static func batchField(item: Item, kind: AuditRecordPayload.Batch.Kind, shard: Shard?) -> AuditRecordPayload.Batch {
        .init(item: item.name, kind: kind, prefix: AuditHook.absolute(item.prefix), shard: shard?.description)
    }

    /// The record of an item that failed before a job could run (unreadable file, 3D scan with
    /// `--to-frame`): command `align` (or `series`), status `failed`, the error, protocol, inputs, threads.
    static func itemFailureRecord(job: BatchJob, item: Item, kind: AuditRecordPayload.Batch.Kind?, error: Error, threads: Int) -> AuditRecordPayload {
        var p = AuditRecordPayload(command: kind == .series ? .series : .align, commandLine: job.commandLine)
        p.fail(error)
        p.protocolEntry = AuditHook.protocolEntry(job.effectiveProtocol)
        p.inputs = [AuditHook.imageInput(role: .scan, path: item.input)]
        if let a = job.atlasPath, job.toFrame == nil { p.inputs.append(AuditHook.imageInput(role: .atlas, path: a)) }
        p.threads = threads
        return p
    }

    /// The audit record of a registered series: inputs, protocol (as used), model, per-frame
    /// transforms (`frames`) and every output. The top-level `atlasToScan` is null (there is one per frame).
    static func seriesRecord(job: SeriesJob, outcome: SeriesJob.Outcome) throws -> AuditRecordPayload {
        var p = AuditRecordPayload(command: .series, commandLine: job.commandLine)
        p.protocolEntry = .used(outcome.protocolRef)
        p.inputs = [.init(role: .scan, outcome.series)]
        if case .atlas = job.reference { p.inputs.append(.init(role: .atlas, outcome.reference)) }
        if case .frame(let n) = job.reference { p.referenceFrame = n }
        p.model.model = outcome.model
        p.frames = outcome.frames.enumerated().map { t, r in
            .init(frame: t, atlasToScan: r.atlasToScan, decomposition: r.decomposition,
                  similarity: .init(measure: r.similarityMeasure, before: r.similarityBefore, after: r.similarityAfter,
                                    minimum: r.similarityMinimum),
                  iterations: r.levels.reduce(0) { $0 + $1.iterations }, flags: r.flags)
        }
        p.iterations = outcome.frames.reduce(0) { $0 + $1.levels.reduce(0) { $0 + $1.iterations } }
        p.timingsSeconds = ["wall": outcome.seconds]
        p.threads = job.threads
        p.flags = Set(outcome.frames.flatMap(\.flags)).sorted { $0.rawValue < $1.rawValue }
        p.outputs = try AuditHook.outputs(outcome.outputs.all.map { ($0.role.auditRole, $0.path) })
        p.nonFinite = .init(job.nonFinite, replaced: outcome.nonFiniteReplaced)
        return p
    }

    /// The audit record of a series that could not be registered.
    static func seriesFailureRecord(job: SeriesJob, error: Error) -> AuditRecordPayload {
        var p = AuditRecordPayload(command: .series, commandLine: job.commandLine)
        p.fail(error)
        p.protocolEntry = AuditHook.protocolEntry(job.effectiveProtocol)
        p.inputs = [AuditHook.imageInput(role: .scan, path: job.seriesPath)]
        if case .atlas(let a) = job.reference { p.inputs.append(AuditHook.imageInput(role: .atlas, path: a)) }
        if case .frame(let n) = job.reference { p.referenceFrame = n }
        p.nonFinite = .init(job.nonFinite, replaced: [:])
        p.threads = job.threads
        return p
    }
}
