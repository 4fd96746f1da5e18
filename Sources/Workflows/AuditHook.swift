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
/// Record members (schema `stnreg-audit-record` version 1; the log adds `prev` and `hash`):
/// - `schema`, `schemaVersion`; `id` (random UUID, lowercase); `time` (UTC, ISO 8601 with
///   milliseconds, e.g. `2026-11-25T18:24:57.123Z`); `tool` `{name, version}`;
///   `command` (`align` | `apply`); `commandLine` (argv); `host` `{name, os, user, pid}`;
/// - `status` (`ok` | `failed`) and `error` (the error text of a failure, else null);
/// - `protocol` `{name, path, sha256, limits {minScale, maxScale, maxShear, minFinalSimilarity}}`
///   or null — for a successful align the protocol as used: the hash of the bytes parsed at the
///   start and the limits the check applied; `model` `{sha256}` (null until the network exists);
/// - `inputs`: `[{role, path, sha256, dims, spacingMM, worldMatrix}]` (roles `scan`, `atlas` and,
///   when given, the cost-function masks `scanMask`, `atlasMask` for align; `transform`, `moving`, `reference` for apply; an unreadable input has `error`);
/// - `atlasToScan` (4 rows of 4, RAS+ mm, atlas → scan), for align also the transforms that led
///   to it: `initialAtlasToScan` (centre of mass + translation search), `predictedAtlasToScan`
///   and `searchWinnerAtlasToScan` (null when not run) and `refinementStartAtlasToScan`; `decomposition`
///   `{order, translationMM, rotationDegrees, rotationAngleDegrees, scale, shear, determinant}`;
/// - `similarity` `{measure, before, after}`, `iterations` (total), `levels` (each with the
///   `similarityMeasure` it optimised), `timingsSeconds`,
///   `threads`, `seed` (null: the pipeline draws no random numbers), `flags` (quality flag names);
/// - `contrast` `{startNCC, sameContrast, crossContrastSimilarity}` when the protocol decides
///   from the images whether the scan shares the atlas's contrast;
/// - `apply` `{inverse, interpolation, format}` for apply records;
/// - `outputs`: `[{role, path, sha256}]` — the files `audit verify` re-hashes;
/// - `nonFinite` `{policy: reject|zero, replaced: {scan, atlas}}` for align (and series) records:
///   the `--non-finite` choice and how many NaN/±Inf voxels were set to 0.
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
    static func append(_ payload: [String: AuditValue], to log: String, failure: Error? = nil, signer: AuditSigner? = nil) throws {
        do {
            try AuditLogFile(path: log).append(payload, signer: signer)
        } catch {
            if let failure {
                throw AlignError("\(failure); and the failure could not be recorded in the audit log: \(error)")
            }
            throw AlignError("the outputs were written but the audit record was not: \(error)")
        }
    }

    // MARK: Record parts

    static func common(command: String, commandLine: [String]) -> [String: AuditValue] {
        let info = ProcessInfo.processInfo
        return [
            "schema": .string(schemaName), "schemaVersion": .int(Int64(schemaVersion)),
            "id": .string(UUID().uuidString.lowercased()),
            "time": .string(utcTime()),
            "tool": ["name": "stnreg", "version": .string(STNRegBuild.version)],
            "command": .string(command),
            "commandLine": .array(commandLine.map(AuditValue.string)),
            "host": ["name": .string(info.hostName), "os": .string(info.operatingSystemVersionString),
                     "user": .string(info.environment["USER"] ?? ""), "pid": .int(Int64(info.processIdentifier))],
            "status": "ok", "error": nil,
            "protocol": nil, "model": ["sha256": nil],
            "inputs": [], "outputs": [],
            "atlasToScan": nil, "decomposition": nil, "similarity": nil,
            "iterations": nil, "levels": [], "timingsSeconds": [:],
            "threads": nil, "seed": nil, "flags": [],
        ]
    }

    /// UTC, ISO 8601 with milliseconds (sorts as text in time order).
    static func utcTime(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    static func input(role: String, _ i: TransformRecord.Input) -> AuditValue {
        ["role": .string(role), "path": .string(absolute(i.path)), "sha256": .string(i.sha256),
         "dims": .array(i.dims.map { .int(Int64($0)) }), "spacingMM": .numbers(i.spacingMM), "worldMatrix": .string(i.worldMatrix)]
    }

    /// An image input described from its header, or with `error` when it cannot be read.
    static func imageInput(role: String, path: String) -> AuditValue {
        do {
            return input(role: role, try AlignJob.describe(path, try NIfTIReader.readHeader(path)))
        } catch {
            return ["role": .string(role), "path": .string(absolute(path)),
                    "sha256": .optional(try? SHA256.hex(ofFile: path)), "error": .string(String(describing: error))]
        }
    }

    static func fileInput(role: String, path: String) -> AuditValue {
        ["role": .string(role), "path": .string(absolute(path)), "sha256": .optional(try? SHA256.hex(ofFile: path))]
    }

    static func outputs(_ byRole: [String: String]) throws -> AuditValue {
        .array(try byRole.keys.sorted().map { role in
            let p = byRole[role]!
            return ["role": .string(role), "path": .string(absolute(p)), "sha256": .string(try SHA256.hex(ofFile: p))]
        })
    }

    static func matrix(_ a: Affine) -> AuditValue { .array(a.rows4x4.map(AuditValue.numbers)) }

    static func decomposition(_ a: Affine) -> AuditValue {
        guard let d = Decomposition(a) else { return .null }
        let r = TransformRecord.DecompositionRecord(d)
        return ["order": .string(r.order), "translationMM": .numbers(r.translationMM), "rotationDegrees": .numbers(r.rotationDegrees),
                "rotationAngleDegrees": .number(r.rotationAngleDegrees), "scale": .numbers(r.scale),
                "shear": .numbers(r.shear), "determinant": .number(r.determinant)]
    }

    static func protocolValue(_ nameOrPath: String?) -> AuditValue {
        guard let (p, path) = try? ProtocolLocator.load(nameOrPath) else {
            return nameOrPath.map { ["name": .string($0), "path": nil, "sha256": nil, "limits": nil] } ?? .null
        }
        return ["name": .string(p.name), "path": .string(absolute(path)), "sha256": .optional(try? SHA256.hex(ofFile: path)),
                "limits": limitsValue(p.limits)]
    }

    static func limitsValue(_ l: RegistrationProtocol.Limits) -> AuditValue {
        ["minScale": .number(l.minScale), "maxScale": .number(l.maxScale),
         "maxShear": .number(l.maxShear), "minFinalSimilarity": .number(l.minFinalSimilarity)]
    }

    // MARK: align

    /// The record of a successful `align`.
    public static func alignRecord(job: AlignJob, outcome: AlignJob.Outcome) throws -> [String: AuditValue] {
        let r = outcome.record
        var p = common(command: "align", commandLine: job.commandLine)
        // The protocol as used (hash of the bytes parsed at the start, the limits the check applied).
        let used = r.protocolUsed
        p["protocol"] = ["name": .string(used.name), "path": .string(absolute(used.path)), "sha256": .string(used.sha256),
                         "limits": used.limits.map(limitsValue) ?? .null]
        p["inputs"] = .array([input(role: "scan", r.scan), input(role: "atlas", r.atlas)]
            + [r.scanMask.map { input(role: "scanMask", $0) }, r.atlasMask.map { input(role: "atlasMask", $0) }].compactMap { $0 })
        if let m = r.model {
            p["model"] = ["sha256": .string(m.sha256), "path": .string(absolute(m.path))]
        }
        p["initialAtlasToScan"] = matrix(r.initialAtlasToScan)
        p["predictedAtlasToScan"] = r.predictedAtlasToScan.map(matrix) ?? .null
        p["searchWinnerAtlasToScan"] = r.searchWinnerAtlasToScan.map(matrix) ?? .null
        p["refinementStartAtlasToScan"] = matrix(r.refinementStartAtlasToScan)
        if let c = r.predictionLastCorrectionMM { p["predictionLastCorrectionMM"] = .number(c) }
        p["atlasToScan"] = matrix(r.atlasToScan)
        p["decomposition"] = decomposition(r.atlasToScan)
        p["similarity"] = ["measure": .string(r.similarityMeasure), "before": .number(r.similarityBefore), "after": .number(r.similarityAfter)]
        p["iterations"] = .int(Int64(r.levels.reduce(0) { $0 + $1.iterations }))
        p["levels"] = .array(r.levels.map { l in
            ["spacingMM": .number(l.spacingMM), "iterations": .int(Int64(l.iterations)),
             "similarityMeasure": .optional(l.similarityMeasure?.rawValue),
             "similarityStart": .number(l.similarityStart), "similarityEnd": .number(l.similarityEnd), "seconds": .number(l.seconds)]
        })
        p["rotationCandidatesTried"] = .int(Int64(r.rotationCandidatesTried))
        if let c = r.contrast {
            p["contrast"] = ["startNCC": .number(c.startNCC), "sameContrast": .bool(c.sameContrast),
                             "crossContrastSimilarity": .optional(c.crossContrastSimilarity?.rawValue)]
        }
        var timings = r.timingsSeconds
        p["outputs"] = try Stopwatch.time("hashOutputs", into: &timings) { try outputs(outcome.outputs) }
        timings["wall"] = outcome.runClock.total
        p["timingsSeconds"] = .object(timings.mapValues(AuditValue.number))
        p["threads"] = .int(Int64(r.threads))
        p["flags"] = .array(r.flags.map { .string($0.rawValue) })
        p["nonFinite"] = nonFiniteValue(job.nonFinite, replaced: outcome.nonFiniteReplaced)
        return p
    }

    /// `nonFinite`: `{policy: reject|zero, replaced: {role: count}}` — how NaN/±Inf voxels were
    /// treated (`--non-finite`) and how many were set to 0 (background) in each input.
    static func nonFiniteValue(_ policy: NonFinitePolicy, replaced: [String: Int]) -> AuditValue {
        ["policy": .string(policy == .replaceWithZero ? "zero" : "reject"),
         "replaced": .object(replaced.mapValues { .int(Int64($0)) })]
    }

    /// The record of a failed `align`: what was attempted, on what, and the error text.
    public static func alignFailureRecord(job: AlignJob, error: Error) -> [String: AuditValue] {
        var p = common(command: "align", commandLine: job.commandLine)
        p["status"] = "failed"
        p["error"] = .string(String(describing: error))
        p["protocol"] = protocolValue(job.protocolName)
        p["inputs"] = .array([imageInput(role: "scan", path: job.scanPath), imageInput(role: "atlas", path: job.atlasPath)]
            + [job.scanMaskPath.map { imageInput(role: "scanMask", path: $0) }, job.atlasMaskPath.map { imageInput(role: "atlasMask", path: $0) }].compactMap { $0 })
        p["threads"] = .int(Int64(job.threads))
        p["nonFinite"] = nonFiniteValue(job.nonFinite, replaced: [:])
        return p
    }

    // MARK: apply

    /// The record of a successful `apply` of `atlasToScan`.
    public static func applyRecord(job: ApplyJob, atlasToScan t: Affine, commandLine: [String]) throws -> [String: AuditValue] {
        var p = common(command: "apply", commandLine: commandLine)
        p["inputs"] = applyInputs(job)
        p["atlasToScan"] = matrix(t)
        p["decomposition"] = decomposition(t)
        p["apply"] = applySettings(job)
        p["threads"] = .int(Int64(job.threads))
        p["outputs"] = try outputs(["resampled": job.outputPath])
        return p
    }

    /// The record of a failed `apply`.
    public static func applyFailureRecord(job: ApplyJob, error: Error, commandLine: [String]) -> [String: AuditValue] {
        var p = common(command: "apply", commandLine: commandLine)
        p["status"] = "failed"
        p["error"] = .string(String(describing: error))
        p["inputs"] = applyInputs(job)
        p["apply"] = applySettings(job)
        p["threads"] = .int(Int64(job.threads))
        return p
    }

    static func applyInputs(_ job: ApplyJob) -> AuditValue {
        [fileInput(role: "transform", path: job.transformPath), imageInput(role: "moving", path: job.movingPath),
         imageInput(role: "reference", path: job.referencePath)]
    }

    static func applySettings(_ job: ApplyJob) -> AuditValue {
        ["inverse": .bool(job.inverse), "interpolation": .string(job.interpolation.rawValue), "format": .optional(job.format?.rawValue)]
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
