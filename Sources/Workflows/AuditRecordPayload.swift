import AuditLog
import Foundation
import NIfTIIO
import Registration
import TransformIO
import VolumeCore

/// The one audit record of stnreg (schema `stnreg-audit-record` version 1; members in
/// ``AuditHook``'s doc comment): built once from what the run had in memory, encoded to the
/// canonical value tree by ``JSONValueEncoder`` (integers exact, non-finite numbers null) and
/// appended by ``AuditHook``. The log adds `prev`, `hash`, `signedBy` and `signature`, so
/// no member has those names.
///
/// The parts that describe a transform are the transform JSON's own types (``TransformRecord``'s
/// `Input`, `DecompositionRecord`, `ProtocolRef`, `ModelRef`, ``LevelReport``,
/// `ContrastDecision`, ``QualityFlag``), so the two files cannot drift apart.
public struct AuditRecordPayload: Encodable, Sendable {
    public enum Command: String, Encodable, Sendable { case align, apply, series }
    public enum Status: String, Encodable, Sendable { case ok, failed }
    public enum InputRole: String, Encodable, Sendable { case scan, atlas, scanMask, atlasMask, transform, moving, reference }
    /// An output's role: align's (``AlignOutputs``), a series' (``SeriesOutputs``), apply's `resampled`.
    public enum OutputRole: String, Encodable, Sendable {
        case warped, transform, itk, ants, fsl, niftyreg, lta
        case transforms, motionCSV, motionPlot
        case resampled
    }

    /// `{name: "stnreg", version}`.
    public struct Tool: Encodable, Sendable {
        public var name = "stnreg"
        public var version = STNRegBuild.version
    }

    /// `{name, os, user, pid}` of the machine and process that wrote the record.
    public struct Host: Encodable, Sendable {
        public var name: String
        public var os: String
        public var user: String
        public var pid: Int

        public static var current: Host {
            let info = ProcessInfo.processInfo
            return Host(name: info.hostName, os: info.operatingSystemVersionString,
                        user: info.environment["USER"] ?? "", pid: Int(info.processIdentifier))
        }
    }

    /// `{name, path, sha256, limits}`: the protocol as used, or only its name (the rest null)
    /// when it could not be read.
    public enum ProtocolEntry: Encodable, Sendable {
        case used(TransformRecord.ProtocolRef)
        case named(String)

        public func encode(to encoder: Encoder) throws {
            switch self {
            case .used(var ref):
                ref.path = AuditHook.absolute(ref.path)
                try ref.encode(to: encoder)
            case .named(let name):
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(name, forKey: .name)
                for key in [Keys.path, .sha256, .limits] { try c.encodeNil(forKey: key) }
            }
        }

        enum Keys: String, CodingKey { case name, path, sha256, limits }
    }

    /// One input: `{role, path, sha256, dims, spacingMM, worldMatrix}` (the transform JSON's
    /// `Input`), or `{role, path, sha256}` for a file that is not an image, or with `error`
    /// (and no geometry) for an image that could not be read.
    public struct InputEntry: Encodable, Sendable {
        public var role: InputRole
        public var path: String
        public var sha256: String?
        public var image: TransformRecord.Input?
        public var error: String?

        public init(role: InputRole, _ image: TransformRecord.Input) {
            self.role = role; path = image.path; sha256 = image.sha256; self.image = image
        }

        public init(role: InputRole, path: String, sha256: String?, error: String? = nil) {
            self.role = role; self.path = path; self.sha256 = sha256; self.error = error
        }

        enum Keys: String, CodingKey { case role, path, sha256, error }

        public func encode(to encoder: Encoder) throws {
            if var image {
                image.path = AuditHook.absolute(image.path)
                try image.encode(to: encoder)
            }
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(role, forKey: .role)
            try c.encode(AuditHook.absolute(path), forKey: .path)
            try c.encode(sha256, forKey: .sha256)
            if let error { try c.encode(error, forKey: .error) }
        }
    }

    /// `{role, path, sha256}`: a file `audit verify` re-hashes.
    public struct OutputEntry: Encodable, Sendable {
        public var role: OutputRole
        public var path: String
        public var sha256: String
    }

    /// `{sha256, path}` of the network model; `{sha256: null}` without one.
    public struct ModelEntry: Encodable, Sendable {
        public var model: TransformRecord.ModelRef?
        enum Keys: String, CodingKey { case sha256 }
        public func encode(to encoder: Encoder) throws {
            if var m = model {
                m.path = AuditHook.absolute(m.path)
                try m.encode(to: encoder)
            } else {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encodeNil(forKey: .sha256)
            }
        }
    }

    /// `{measure, before, after, minimum}`: the quality check's similarity and the least that passed.
    public struct Similarity: Encodable, Sendable {
        public var measure: String
        public var before: Double
        public var after: Double
        /// The least `after` that passed the check (nil: a record of an older version).
        public var minimum: Double?
    }

    /// `{policy: reject|zero, replaced: {role: count}}`: the `--non-finite` choice and how many
    /// NaN/±Inf voxels were set to 0 in each input.
    public struct NonFinite: Encodable, Sendable {
        public var policy: String
        public var replaced: [String: Int]
        public init(_ policy: NonFinitePolicy, replaced: [String: Int]) {
            self.policy = policy == .replaceWithZero ? "zero" : "reject"
            self.replaced = replaced
        }
    }

    /// `{inverse, interpolation, format}` of an apply.
    public struct Apply: Encodable, Sendable {
        public var inverse: Bool
        public var interpolation: String
        public var format: TransformFormat?
    }

    /// `{item, kind: scan|series, prefix (absolute), shard}` of a batch item.
    public struct Batch: Encodable, Sendable {
        public enum Kind: String, Encodable, Sendable { case scan, series }
        public var item: String
        public var kind: Kind
        public var prefix: String
        public var shard: String?
    }

    /// One frame of a series: `{frame, atlasToScan, decomposition, similarity, iterations, flags}`.
    public struct Frame: Encodable, Sendable {
        public var frame: Int
        public var atlasToScan: Affine
        public var decomposition: TransformRecord.DecompositionRecord?
        public var similarity: Similarity
        public var iterations: Int
        public var flags: [QualityFlag]
    }

    /// The transforms that led to an align's result (members of the record, as in the transform JSON).
    public struct AlignTransforms: Sendable {
        public var initialAtlasToScan: Affine
        public var predictedAtlasToScan: Affine?
        public var searchWinnerAtlasToScan: Affine?
        public var refinementStartAtlasToScan: Affine
        public var predictionLastCorrectionMM: Double?
        public var rotationCandidatesTried: Int
    }

    public var id = UUID().uuidString.lowercased()
    public var time = UTCTime.string(.milliseconds)
    public var tool = Tool()
    public var command: Command
    public var commandLine: [String]
    public var host = Host.current
    public var status = Status.ok
    public var error: String?
    public var protocolEntry: ProtocolEntry?
    public var model = ModelEntry()
    public var inputs: [InputEntry] = []
    public var outputs: [OutputEntry] = []
    /// The result (null for a failure and for a series, which has one per frame).
    public var atlasToScan: Affine?
    public var iterations: Int?
    public var similarity: Similarity?
    public var levels: [LevelReport] = []
    public var timingsSeconds: [String: Double] = [:]
    public var threads: Int?
    /// Always null: the pipeline draws no random numbers.
    public var seed: Int?
    public var flags: [QualityFlag] = []
    public var transforms: AlignTransforms?
    public var contrast: Registration.ContrastDecision?
    public var nonFinite: NonFinite?
    public var apply: Apply?
    public var batch: Batch?
    public var referenceFrame: Int?
    public var frames: [Frame]?

    public init(command: Command, commandLine: [String]) {
        self.command = command
        self.commandLine = commandLine
    }

    /// Marks the record failed with `error`'s text.
    public mutating func fail(_ error: Error) { fail(String(describing: error)) }

    public mutating func fail(_ message: String) {
        status = .failed
        error = message
    }

    enum Keys: String, CodingKey {
        case schema, schemaVersion, id, time, tool, command, commandLine, host, status, error
        case `protocol`, model, inputs, outputs, atlasToScan, decomposition, similarity, iterations
        case levels, timingsSeconds, threads, seed, flags
        case initialAtlasToScan, predictedAtlasToScan, searchWinnerAtlasToScan, refinementStartAtlasToScan
        case predictionLastCorrectionMM, rotationCandidatesTried, contrast, nonFinite, apply, batch
        case referenceFrame, frames
    }

    /// Members that do not apply are null (the common ones) or left out (those of another command).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(AuditHook.schemaName, forKey: .schema)
        try c.encode(AuditHook.schemaVersion, forKey: .schemaVersion)
        try c.encode(id, forKey: .id)
        try c.encode(time, forKey: .time)
        try c.encode(tool, forKey: .tool)
        try c.encode(command, forKey: .command)
        try c.encode(commandLine, forKey: .commandLine)
        try c.encode(host, forKey: .host)
        try c.encode(status, forKey: .status)
        try c.encode(error, forKey: .error)
        try c.encode(protocolEntry, forKey: .protocol)
        try c.encode(model, forKey: .model)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(atlasToScan, forKey: .atlasToScan)
        try c.encode(atlasToScan.flatMap(Decomposition.init).map(TransformRecord.DecompositionRecord.init), forKey: .decomposition)
        try c.encode(similarity, forKey: .similarity)
        try c.encode(iterations, forKey: .iterations)
        try c.encode(levels, forKey: .levels)
        try c.encode(timingsSeconds, forKey: .timingsSeconds)
        try c.encode(threads, forKey: .threads)
        try c.encode(seed, forKey: .seed)
        try c.encode(flags, forKey: .flags)
        if let t = transforms {
            try c.encode(t.initialAtlasToScan, forKey: .initialAtlasToScan)
            try c.encode(t.predictedAtlasToScan, forKey: .predictedAtlasToScan)
            try c.encode(t.searchWinnerAtlasToScan, forKey: .searchWinnerAtlasToScan)
            try c.encode(t.refinementStartAtlasToScan, forKey: .refinementStartAtlasToScan)
            if let m = t.predictionLastCorrectionMM { try c.encode(m, forKey: .predictionLastCorrectionMM) }
            try c.encode(t.rotationCandidatesTried, forKey: .rotationCandidatesTried)
        }
        if let contrast { try c.encode(contrast, forKey: .contrast) }
        if let nonFinite { try c.encode(nonFinite, forKey: .nonFinite) }
        if let apply { try c.encode(apply, forKey: .apply) }
        if let batch { try c.encode(batch, forKey: .batch) }
        if let referenceFrame { try c.encode(referenceFrame, forKey: .referenceFrame) }
        if let frames { try c.encode(frames, forKey: .frames) }
    }

    /// The canonical value tree the log hashes (absent optionals of shared parts are null).
    public func value() throws -> [String: AuditValue] {
        guard let o = try JSONValueEncoder().encode(self).object else { preconditionFailure("a record encodes to an object") }
        return o
    }
}
