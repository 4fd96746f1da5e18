import AuditLog
import Foundation
import NIfTIIO
import VolumeCore

/// Runs one batch item: skipped when ``BatchResume`` finds it done, else read, registered as a
/// scan (``AlignJob``) or a series (``SeriesJob``), and recorded — on failure too. Shared,
/// read-only, by the batch's workers.
struct BatchItemRunner: Sendable {
    let job: BatchJob
    let log: String
    let resume: BatchResume
    /// Threads per registration.
    let threads: Int

    func run(_ item: BatchJob.Item) -> BatchJob.ItemResult {
        let clock = Stopwatch()
        func seconds() -> Double { clock.total }
        var result = BatchJob.ItemResult(item: item, status: .done, kind: nil, frames: nil, similarityAfter: nil, flags: [],
                                         message: nil, seconds: 0, outputs: .init())
        if !job.force, let reason = resume.doneBefore(item) {
            result.status = .skipped
            result.message = reason
            result.kind = resume.previousKind(item)
            return result
        }
        let batchValue = { (kind: AuditRecordPayload.Batch.Kind) in BatchJob.batchField(item: item, kind: kind, shard: job.shard) }
        let frames: Int
        do {
            let header = try NIfTIReader.readHeader(item.input)
            frames = header.frameCount
        } catch {
            return fail(&result, kind: nil, error: error, seconds: seconds(), batch: batchValue(.scan))
        }
        if frames == 1 {
            result.kind = "scan"
            result.frames = 1
            if job.toFrame != nil {
                let e = BatchJob.BatchError("\(item.input): a 3D scan; --to-frame registers the frames of 4D series, so this item has nothing to do")
                return fail(&result, kind: .scan, error: e, seconds: seconds(), batch: batchValue(.scan))
            }
            runScan(item, into: &result, batch: batchValue(.scan))
        } else {
            result.kind = "series"
            result.frames = frames
            runSeries(item, frames: frames, into: &result, batch: batchValue(.series))
        }
        result.seconds = seconds()
        return result
    }

    private func runScan(_ item: BatchJob.Item, into result: inout BatchJob.ItemResult, batch: AuditRecordPayload.Batch) {
        var align = AlignJob(scanPath: item.input, atlasPath: job.atlasPath!, prefix: item.prefix, protocolName: job.protocolName,
                             threads: threads, commandLine: job.commandLine, useNetwork: job.useNetwork)
        align.nonFinite = job.nonFinite
        align.atlasMaskPath = job.atlasMaskPath
        if let suffix = job.scanMaskSuffix {
            guard let mask = job.scanMask(for: item.input) else {
                let e = AlignError("\(item.input): no mask \(AlignJob.fileStem(item.input))\(suffix).nii.gz (or .nii) beside it (--scan-mask-suffix \(suffix)); add the mask, or run this scan in a batch without the option")
                _ = fail(&result, kind: .scan, error: e, seconds: 0, batch: batch)
                return
            }
            align.scanMaskPath = mask
        }
        do {
            let outcome = try align.run()
            var p = try AuditHook.alignRecord(job: align, outcome: outcome)
            p.batch = batch
            let bad = outcome.record.flags.filter(\.isFailure)
            result.similarityAfter = outcome.record.similarityAfter
            result.flags = outcome.record.flags.map(\.rawValue)
            result.outputs = .init(warped: outcome.outputs.warped, transform: outcome.outputs.transform)
            if !bad.isEmpty {
                let e = "quality check failed: \(bad.map(\.rawValue).joined(separator: ", ")) (outputs written for review)"
                p.fail(e)
                result.status = .failed
                result.message = e
            }
            try AuditHook.append(p, to: log, signer: job.signer)
        } catch {
            var p = AuditHook.alignFailureRecord(job: align, error: error)
            p.batch = batch
            result.status = .failed
            result.message = String(describing: error)
            do { try AuditHook.append(p, to: log, failure: error, signer: job.signer) } catch { result.message = String(describing: error) }
        }
    }

    private func runSeries(_ item: BatchJob.Item, frames: Int, into result: inout BatchJob.ItemResult, batch: AuditRecordPayload.Batch) {
        let reference: SeriesJob.Reference = job.toFrame.map { .frame($0) } ?? .atlas(job.atlasPath!)
        var series = SeriesJob(seriesPath: item.input, reference: reference, prefix: item.prefix, protocolName: job.effectiveProtocol,
                               useNetwork: job.useNetwork, threads: threads, commandLine: job.commandLine)
        series.nonFinite = job.nonFinite
        do {
            let outcome = try series.run()
            var p = try BatchJob.seriesRecord(job: series, outcome: outcome)
            p.batch = batch
            result.similarityAfter = outcome.frames.map(\.similarityAfter).min()
            result.flags = Array(Set(outcome.frames.flatMap { $0.flags.map(\.rawValue) })).sorted()
            result.outputs = .init(warped: outcome.outputs[.warped], transform: outcome.outputs[.transforms])
            let bad = outcome.failedFrames
            if !bad.isEmpty {
                let e = "quality check failed on \(bad.count) of \(frames) frames: "
                    + bad.prefix(5).map { "frame \($0.frame) \($0.flags.map(\.rawValue).joined(separator: "+"))" }.joined(separator: ", ")
                    + (bad.count > 5 ? ", …" : "") + " (outputs written for review)"
                p.fail(e)
                result.status = .failed
                result.message = e
            }
            try AuditHook.append(p, to: log, signer: job.signer)
        } catch {
            var p = BatchJob.seriesFailureRecord(job: series, error: error)
            p.batch = batch
            result.status = .failed
            result.message = String(describing: error)
            do { try AuditHook.append(p, to: log, failure: error, signer: job.signer) } catch { result.message = String(describing: error) }
        }
    }

    /// Records an item that failed before a job could run (unreadable file, 3D scan with --to-frame).
    private func fail(_ r: inout BatchJob.ItemResult, kind: AuditRecordPayload.Batch.Kind?, error: Error, seconds: Double,
                      batch: AuditRecordPayload.Batch) -> BatchJob.ItemResult {
        r.status = .failed
        r.kind = kind?.rawValue
        r.message = String(describing: error)
        r.seconds = seconds
        var p = BatchJob.itemFailureRecord(job: job, item: r.item, kind: kind, error: error, threads: threads)
        p.batch = batch
        do { try AuditHook.append(p, to: log, failure: error, signer: job.signer) } catch { r.message = String(describing: error) }
        return r
    }
}
