import AuditLog
import Foundation
import Hashing
import NIfTIIO
import Registration
import TransformIO
import VolumeCore

/// The imaging-specific audit record (DESIGN.md, "The audit log") and the hooks that append one
/// for every `align` and `apply`, success or failure.
///
/// Record members (schema `stnreg-audit-record` version 1), written by one type,
/// ``AuditRecordPayload``; the log adds `prev` and `hash`:
/// - `schema`, `schemaVersion`; `id` (random UUID, lowercase); `time` (UTC, ISO 8601 with
///   milliseconds, e.g. `2026-11-25T18:24:57.123Z`); `tool` `{name, version}`;
///   `command` (`align` | `apply` | `series`); `commandLine` (argv); `host` `{name, os, user, pid}`;
/// - `status` (`ok` | `failed`) and `error` (the error text of a failure, else null);
/// - `protocol` `{name, path, sha256, limits {minScale, maxScale, maxShear, minFinalSimilarity,
///   checkMeasure}}` or null — for a successful align the protocol as used: the hash of the
///   bytes parsed at the start and the limits the check applied (records before the payload
///   type have no `checkMeasure`); `model` `{sha256, path}` (`{sha256: null}` without a network);
/// - `inputs`: `[{role, path, sha256, dims, spacingMM, worldMatrix}]` (roles `scan`, `atlas` and,
///   when given, the cost-function masks `scanMask`, `atlasMask` for align; `transform`, `moving`,
///   `reference` for apply; an unreadable input has `error`);
/// - `atlasToScan` (4 rows of 4, RAS+ mm, atlas → scan), for align also the transforms that led
///   to it: `initialAtlasToScan` (centre of mass + translation search), `predictedAtlasToScan`
///   and `searchWinnerAtlasToScan` (null when not run), `refinementStartAtlasToScan`,
///   `predictionLastCorrectionMM` (with a network) and `rotationCandidatesTried`; `decomposition`
///   `{order, translationMM, rotationDegrees, rotationAngleDegrees, scale, shear, determinant}`;
/// - `similarity` `{measure, before, after}`, `iterations` (total), `levels` (each with the
///   `similarityMeasure` it optimised), `timingsSeconds`,
///   `threads`, `seed` (null: the pipeline draws no random numbers), `flags` (quality flag names);
/// - `contrast` `{startNCC, correlationRatio, linearity, sameContrast, crossContrastSimilarity}` when the protocol decides
///   from the images whether the scan shares the atlas's contrast;
/// - `apply` `{inverse, interpolation, format}` for apply records;
/// - `outputs`: `[{role, path, sha256}]` — the files `audit verify` re-hashes;
/// - `nonFinite` `{policy: reject|zero, replaced: {scan, atlas}}` for align (and series) records:
///   the `--non-finite` choice and how many NaN/±Inf voxels were set to 0;
/// - `batch` `{item, kind: scan|series, prefix, shard}` for batch items (resume reads
///   `batch.prefix`); a series has `frames` `[{frame, atlasToScan, decomposition, similarity,
///   iterations, flags}]` (the top-level `atlasToScan` is null) and, against a frame,
///   `referenceFrame`.
/// The log adds `prev`, `hash` and, when a signer is given, `signedBy` and `signature` (``AuditChain``).
/// Paths are absolute. Numbers that are unknown or not finite are null.
public enum AuditHook {
    public static let schemaName = "stnreg-audit-record"
    public static let schemaVersion = 1
    /// The log's file name in the output folder when no `--audit-log` is given.
    public static let defaultLogName = "stnreg-audit.jsonl"

    /// `<folder of output>/stnreg-audit.jsonl`.
    public static func defaultLogPath(besideOutput output: String) -> String {
        URL(fileURLWithPath: output).deletingLastPathComponent().path + "/" + defaultLogName
    }

    /// Appends `payload` to the log, signed by `signer` when given; when `failure` is set, a
    /// failing append does not hide it.
    static func append(_ payload: AuditRecordPayload, to log: String, failure: Error? = nil, signer: AuditSigner? = nil) throws {
        do {
            try AuditLogFile(path: log).append(try payload.value(), signer: signer)
        } catch {
            if let failure {
                throw AuditAppendError("\(failure); and the failure could not be recorded in the audit log: \(error)")
            }
            throw AuditAppendError("the outputs were written but the audit record was not: \(error)")
        }
    }

    // MARK: Record parts

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// An image input described from its header, or with `error` when it cannot be read.
    static func imageInput(role: AuditRecordPayload.InputRole, path: String) -> AuditRecordPayload.InputEntry {
        do {
            return .init(role: role, try AlignJob.describe(path, try NIfTIReader.readHeader(path)))
        } catch {
            return .init(role: role, path: path, sha256: try? SHA256.hex(ofFile: path), error: String(describing: error))
        }
    }

    static func fileInput(role: AuditRecordPayload.InputRole, path: String) -> AuditRecordPayload.InputEntry {
        .init(role: role, path: path, sha256: try? SHA256.hex(ofFile: path))
    }

    /// The outputs, sorted by role, each with the SHA-256 of the file as written.
    static func outputs(_ files: [(role: AuditRecordPayload.OutputRole, path: String)]) throws -> [AuditRecordPayload.OutputEntry] {
        try files.sorted { $0.role.rawValue < $1.role.rawValue }.map { role, p in
            .init(role: role, path: absolute(p), sha256: try SHA256.hex(ofFile: p))
        }
    }

    /// The protocol of a run that failed before it could say which it used: read again by
    /// name or path (only its name when that fails).
    static func protocolEntry(_ nameOrPath: String?) -> AuditRecordPayload.ProtocolEntry? {
        guard let (p, path) = try? ProtocolLocator.load(nameOrPath), let sha = try? SHA256.hex(ofFile: path) else {
            return nameOrPath.map { .named($0) }
        }
        return .used(.init(name: p.name, path: path, sha256: sha, limits: p.limits))
    }

    // MARK: align

    /// The record of a successful `align`, from its transform record (the protocol as used:
    /// the hash of the bytes parsed at the start and the limits the check applied).
    public static func alignRecord(job: AlignJob, outcome: AlignJob.Outcome) throws -> AuditRecordPayload {
        let r = outcome.record
        var p = AuditRecordPayload(command: .align, commandLine: job.commandLine)
        p.protocolEntry = .used(r.protocolUsed)
        p.inputs = [.init(role: .scan, r.scan), .init(role: .atlas, r.atlas)]
            + [r.scanMask.map { .init(role: .scanMask, $0) }, r.atlasMask.map { .init(role: .atlasMask, $0) }].compactMap { $0 }
        p.model.model = r.model
        p.transforms = .init(initialAtlasToScan: r.initialAtlasToScan, predictedAtlasToScan: r.predictedAtlasToScan,
                             searchWinnerAtlasToScan: r.searchWinnerAtlasToScan, refinementStartAtlasToScan: r.refinementStartAtlasToScan,
                             predictionLastCorrectionMM: r.predictionLastCorrectionMM, rotationCandidatesTried: r.rotationCandidatesTried)
        p.atlasToScan = r.atlasToScan
        p.similarity = .init(measure: r.similarityMeasure, before: r.similarityBefore, after: r.similarityAfter, minimum: r.similarityMinimum)
        p.iterations = r.levels.reduce(0) { $0 + $1.iterations }
        p.levels = r.levels
        p.contrast = r.contrast
        var timings = r.timingsSeconds
        p.outputs = try Stopwatch.time("hashOutputs", into: &timings) { try outputs(outcome.outputs.all.map { ($0.role.auditRole, $0.path) }) }
        timings["wall"] = outcome.runClock.total
        p.timingsSeconds = timings
        p.threads = r.threads
        p.flags = r.flags
        p.nonFinite = .init(job.nonFinite, replaced: outcome.nonFiniteReplaced)
        return p
    }

    /// The record of a failed `align`: what was attempted, on what, and the error text.
    public static func alignFailureRecord(job: AlignJob, error: Error) -> AuditRecordPayload {
        var p = AuditRecordPayload(command: .align, commandLine: job.commandLine)
        p.fail(error)
        p.protocolEntry = protocolEntry(job.protocolName)
        p.inputs = [imageInput(role: .scan, path: job.scanPath), imageInput(role: .atlas, path: job.atlasPath)]
            + [job.scanMaskPath.map { imageInput(role: .scanMask, path: $0) }, job.atlasMaskPath.map { imageInput(role: .atlasMask, path: $0) }].compactMap { $0 }
        p.threads = job.threads
        p.nonFinite = .init(job.nonFinite, replaced: [:])
        return p
    }

    // MARK: apply

    /// The record of a successful `apply` of `atlasToScan`.
    public static func applyRecord(job: ApplyJob, atlasToScan t: Affine, commandLine: [String]) throws -> AuditRecordPayload {
        var p = applyPayload(job, commandLine: commandLine)
        p.atlasToScan = t
        p.outputs = try outputs([(.resampled, job.outputPath)])
        return p
    }

    /// The record of a failed `apply`.
    public static func applyFailureRecord(job: ApplyJob, error: Error, commandLine: [String]) -> AuditRecordPayload {
        var p = applyPayload(job, commandLine: commandLine)
        p.fail(error)
        return p
    }

    static func applyPayload(_ job: ApplyJob, commandLine: [String]) -> AuditRecordPayload {
        var p = AuditRecordPayload(command: .apply, commandLine: commandLine)
        p.inputs = [fileInput(role: .transform, path: job.transformPath), imageInput(role: .moving, path: job.movingPath),
                    imageInput(role: .reference, path: job.referencePath)]
        p.apply = .init(inverse: job.inverse, interpolation: job.interpolation.rawValue, format: job.format)
        p.threads = job.threads
        return p
    }
}

extension AlignJob {
    /// Runs the job and appends one audit record to `log` (default: `stnreg-audit.jsonl` in the
    /// output folder), on failure too, signed by `signer` when given; the job's own error is
    /// rethrown after it is recorded.
    public func runAndAudit(log: String? = nil, signer: AuditSigner? = nil, progress: (@Sendable (String) -> Void)? = nil) throws -> Outcome {
        let logPath = log ?? AuditHook.defaultLogPath(besideOutput: prefix)
        var outcome: Outcome
        do {
            outcome = try run(progress: progress)
        } catch {
            try AuditHook.append(AuditHook.alignFailureRecord(job: self, error: error), to: logPath, failure: error, signer: signer)
            throw error
        }
        // The steps after run (AlignJob.stageKeys): building the audit record, nearly all of it
        // the output hashes (`hashOutputs`, which the record holds too), and the append (`audit`).
        let done = outcome
        let payload = try Stopwatch.time("hashOutputs", into: &outcome.record.timingsSeconds) {
            try AuditHook.alignRecord(job: self, outcome: done)
        }
        try Stopwatch.time("audit", into: &outcome.record.timingsSeconds) {
            try AuditHook.append(payload, to: logPath, signer: signer)
        }
        outcome.record.timingsSeconds["wall"] = outcome.runClock.total
        return outcome
    }
}

extension ApplyJob {
    /// Runs the job and appends one audit record to `log` (default: `stnreg-audit.jsonl` beside
    /// the output), on failure too, signed by `signer` when given; the job's own error is
    /// rethrown after it is recorded.
    @discardableResult
    public func runAndAudit(log: String? = nil, signer: AuditSigner? = nil, commandLine: [String] = CommandLine.arguments) throws -> Affine {
        let logPath = log ?? AuditHook.defaultLogPath(besideOutput: outputPath)
        let t: Affine
        do {
            t = try run()
        } catch {
            try AuditHook.append(AuditHook.applyFailureRecord(job: self, error: error, commandLine: commandLine), to: logPath, failure: error, signer: signer)
            throw error
        }
        try AuditHook.append(try AuditHook.applyRecord(job: self, atlasToScan: t, commandLine: commandLine), to: logPath, signer: signer)
        return t
    }
}
