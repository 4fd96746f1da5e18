import Foundation
import Hashing
import Network
import NIfTIIO
import Registration
import Sampling
import TransformIO
import VolumeCore

/// `stnreg align`: register one scan to an atlas and write every output.
///
/// Outputs for prefix `P` (each written to a temporary name and renamed; never over an input):
/// - `P_warped.nii.gz` — the scan resampled onto the atlas grid (trilinear, float32; nearest
///   neighbour and an integer type for label maps);
/// - `P_transform.json` — stnreg's record (``TransformRecord``);
/// - `P_itk.tfm` (ITK text), `P_ants.mat` (ANTs binary), `P_fsl.mat` (FLIRT), `P_niftyreg.txt`
///   (reg_aladin), `P.lta` (FreeSurfer).
public struct AlignJob: Sendable {
    public var scanPath: String
    public var atlasPath: String
    /// Output prefix (folder and file stem).
    public var prefix: String
    /// `--protocol NAME|PATH`; nil = the default preset.
    public var protocolName: String?
    /// Resample with nearest neighbour (label maps).
    public var labels: Bool
    public var threads: Int
    /// The command line, recorded in the transform record.
    public var commandLine: [String]
    /// Use the protocol's spatial transformer when it has one (`--no-network` sets false:
    /// the search-first path).
    public var useNetwork: Bool
    /// Refine after initialisation / prediction (false only for the benchmark's ablation).
    public var refine: Bool
    /// Overrides the rotation-search mode (nil: the protocol's, or `fallback` with a network).
    public var rotationSearch: RotationSearchMode?
    /// NaN/±Inf voxels in the scan or atlas: refuse the file (default), or set them to 0,
    /// i.e. background (`--non-finite zero`; the counts go into the audit record).
    public var nonFinite: NonFinitePolicy = .reject
    /// Cost-function masks (`--scan-mask`, `--atlas-mask`): binary NIfTI on the scan's and the
    /// atlas's own grid; voxels outside are ignored by every similarity (``CostMask``).
    public var scanMaskPath: String? = nil
    public var atlasMaskPath: String? = nil

    public init(scanPath: String, atlasPath: String, prefix: String? = nil, protocolName: String? = nil,
                labels: Bool = false, threads: Int = ThreadPolicy.defaultThreadCount, commandLine: [String] = CommandLine.arguments,
                useNetwork: Bool = true, refine: Bool = true, rotationSearch: RotationSearchMode? = nil) {
        self.useNetwork = useNetwork
        self.refine = refine
        self.rotationSearch = rotationSearch
        self.scanPath = scanPath
        self.atlasPath = atlasPath
        self.prefix = prefix ?? AlignJob.defaultPrefix(scan: scanPath, atlas: atlasPath)
        self.protocolName = protocolName
        self.labels = labels
        self.threads = threads
        self.commandLine = commandLine
    }

    /// `<scan stem>_space-<atlas stem>` in the current folder.
    public static func defaultPrefix(scan: String, atlas: String) -> String {
        "\(fileStem(scan))_space-\(fileStem(atlas))"
    }

    /// The name without folder and without `.nii`, `.nii.gz`, `.gz`.
    public static func fileStem(_ path: String) -> String {
        var name = URL(fileURLWithPath: path).lastPathComponent
        for ext in [".nii.gz", ".nii", ".gz"] where name.hasSuffix(ext) {
            name = String(name.dropLast(ext.count))
            break
        }
        return name
    }

    /// The output paths, by role.
    public var outputPaths: AlignOutputs { AlignOutputs(prefix: prefix) }

    /// What the job produced.
    public struct Outcome: Sendable {
        public var record: TransformRecord
        public var outputs: AlignOutputs
        /// NaN/±Inf voxels set to 0, by input role (`scan`, `atlas`); all 0 unless ``nonFinite`` is `.replaceWithZero`.
        public var nonFiniteReplaced: [String: Int] = [:]
        /// Started when ``run(progress:)`` began: the wall time of the steps after it (output
        /// hashes and the audit append, ``runAndAudit(log:signer:progress:)``).
        var runClock = Stopwatch()
    }

    /// The stage timers of `record.timingsSeconds` (seconds), in the order they run; together
    /// they cover `wall`, the time since ``run(progress:)`` began:
    /// - `outputChecks` (no output over an input, the folder exists), `protocol` (find, read,
    ///   parse and hash the protocol), `read` (scan, atlas and masks), `model` (read, parse and
    ///   hash the network model), `hashInputs` (SHA-256 of each input file, once);
    /// - the registration's own stages (`prepare`, `contrast`, `initialise`, `predict`,
    ///   `search`, `refine`; `total` is their envelope and is not a stage) and `check`: the rest
    ///   of the registration call (the quality check, which the pipeline does not time itself);
    /// - `resample` (the warped scan), `write` (its NIfTI file), `transforms` (the five files of
    ///   other tools), `record` (the transform record, encoded and written);
    /// - with ``runAndAudit(log:signer:progress:)``: `hashOutputs` (SHA-256 of every output) and
    ///   `audit` (the record appended to the log).
    /// A file can only hold the timings up to its own writing: the transform JSON lacks
    /// `record`, `hashOutputs` and `audit`, the audit record lacks `audit`; its `wall` is
    /// read just before it is encoded. The returned ``Outcome`` has them all.
    public static let stageKeys = ["outputChecks", "protocol", "read", "model", "hashInputs",
                                   "prepare", "contrast", "initialise", "predict", "search", "refine", "check",
                                   "resample", "write", "transforms", "record", "hashOutputs", "audit"]

    /// Runs the job. `progress` receives short stage lines (the command decides whether to show them).
    public func run(progress: (@Sendable (String) -> Void)? = nil) throws -> Outcome {
        let clock = Stopwatch()
        var timings: [String: Double] = [:]
        func time<T>(_ key: String, _ body: () throws -> T) rethrows -> T { try Stopwatch.time(key, into: &timings, body) }

        let outputs = outputPaths
        let inputs = [scanPath, atlasPath] + [scanMaskPath, atlasMaskPath].compactMap { $0 }
        try time("outputChecks") {
            for (_, path) in outputs.all { try AtomicFile.refuseInputs(path, inputs) }
            let folder = URL(fileURLWithPath: prefix).deletingLastPathComponent().path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
                throw AtomicFile.WriteError(path: prefix, reason: "the output folder \(folder) does not exist; create it or choose another -o prefix")
            }
        }

        let (settings, protocolPath, protocolHash) = try time("protocol") {
            let (settings, path, bytes) = try ProtocolLocator.loadWithBytes(protocolName)
            return (settings, path, SHA256.hex(bytes))
        }
        let (scanImage, atlasImage, scanMask, atlasMask) = try time("read") {
            let scanImage = try AlignJob.read(scanPath, nonFinite: nonFinite)
            let atlasImage = try AlignJob.read(atlasPath, nonFinite: nonFinite)
            let scanMask = try scanMaskPath.map { try AlignJob.readMask($0, for: scanImage.header.grid, of: "scan", option: "--scan-mask") }
            let atlasMask = try atlasMaskPath.map { try AlignJob.readMask($0, for: atlasImage.header.grid, of: "atlas", option: "--atlas-mask") }
            return (scanImage, atlasImage, scanMask, atlasMask)
        }
        guard scanImage.frameCount == 1 else {
            throw AlignError("\(scanPath): has \(scanImage.frameCount) frames; align takes a 3D scan (use `stnreg batch` for 4D series)")
        }
        guard atlasImage.frameCount == 1 else {
            throw AlignError("\(atlasPath): has \(atlasImage.frameCount) frames; the atlas must be a 3D volume")
        }
        let scan = scanImage.frame(0), atlas = atlasImage.frame(0)
        progress?("read scan \(scan.dims.x)×\(scan.dims.y)×\(scan.dims.z) and atlas \(atlas.dims.x)×\(atlas.dims.y)×\(atlas.dims.z) in \(String(format: "%.2f", timings["read"] ?? 0)) s")

        let (predictor, modelRef) = try time("model") {
            try AlignJob.loadPredictor(settings, protocolPath: protocolPath, useNetwork: useNetwork)
        }
        // Each input file hashed once (the records and the atlas note share the hashes).
        let hashes = try time("hashInputs") {
            var h: [String: String] = [:]
            for path in inputs where h[path] == nil { h[path] = try SHA256.hex(ofFile: path) }
            return h
        }
        if let note = AlignJob.atlasNote(predictor, atlasSHA256: hashes[atlasPath]!) { progress?(note) }

        let registrationClock = Stopwatch()
        var result = try AlignJob.registerVolumes(scan: scan, atlas: atlas, settings: settings, predictor: predictor,
                                                  threads: threads, rotationSearch: rotationSearch, refine: refine,
                                                  scanMask: scanMask?.mask, atlasMask: atlasMask?.mask,
                                                  context: "\(scanPath) → \(atlasPath)", progress: progress)
        let registrationSeconds = registrationClock.total
        if scanImage.header.sformQformDisagree || atlasImage.header.sformQformDisagree {
            result.flags.append(.headerMatricesDisagree)
        }
        let staged = AlignJob.registrationStageKeys.reduce(0.0) { $0 + (result.timings[$1] ?? 0) }
        if result.timings["check"] == nil { timings["check"] = max(0, registrationSeconds - staged) }

        // Warped scan on the atlas grid.
        let warped = time("resample") {
            resample(scan, onto: atlas.grid, atlasToScan: result.atlasToScan, interpolation: labels ? .nearest : .linear, threads: threads)
        }
        try time("write") {
            try NIfTIWriter.write(warped, to: outputs.warped, datatype: labels ? AlignJob.labelDatatype(for: warped) : .float32,
                                  description: "stnreg warped", protectedInputs: inputs, threads: threads)
        }
        // Transform files of other tools.
        try time("transforms") {
            let scanName = URL(fileURLWithPath: scanPath).lastPathComponent
            let atlasName = URL(fileURLWithPath: atlasPath).lastPathComponent
            let formats: [(AlignOutputs.Role, TransformFormat)] = [(.itk, .itkText), (.ants, .antsMat), (.fsl, .fsl), (.niftyreg, .niftyReg), (.lta, .lta)]
            for (role, format) in formats {
                try TransformFile.write(result.atlasToScan, format: format, to: outputs[role], atlasGrid: atlas.grid, scanGrid: scan.grid,
                                        atlasName: atlasName, scanName: scanName, protectedInputs: inputs)
            }
        }

        let recordClock = Stopwatch()
        result.timings.merge(timings) { registration, _ in registration }
        result.timings["wall"] = clock.total
        var record = TransformRecord(
            tool: STNRegBuild.tool, created: UTCTime.string(.seconds), commandLine: commandLine,
            result: result, settings: settings,
            protocolRef: .init(name: settings.name, path: protocolPath, sha256: protocolHash, limits: settings.limits),
            scan: AlignJob.describe(scanPath, scanImage.header, sha256: hashes[scanPath]!),
            atlas: AlignJob.describe(atlasPath, atlasImage.header, sha256: hashes[atlasPath]!),
            outputs: outputs.byRole, model: modelRef)
        record.scanMask = scanMask.map { AlignJob.describe($0.path, $0.header, sha256: hashes[$0.path]!) }
        record.atlasMask = atlasMask.map { AlignJob.describe($0.path, $0.header, sha256: hashes[$0.path]!) }
        try AtomicFile.write(try record.encoded(), to: outputs.transform, protectedInputs: inputs)
        record.timingsSeconds["record"] = recordClock.total
        record.timingsSeconds["wall"] = clock.total
        return Outcome(record: record, outputs: outputs,
                       nonFiniteReplaced: ["scan": scanImage.nonFiniteReplaced, "atlas": atlasImage.nonFiniteReplaced],
                       runClock: clock)
    }

    /// The stages ``Registration/register(_:progress:)`` times itself (`total` is their envelope).
    static let registrationStageKeys = ["prepare", "contrast", "initialise", "predict", "search", "refine", "check"]

    /// A cost-function mask read for align, with the file it came from and its header (the
    /// record describes it without reading it again).
    struct ReadMask {
        var mask: CostMask
        var path: String
        var header: NIfTIHeader
    }

    /// Reads an input image with the `--non-finite` policy; a refusal of NaN/±Inf voxels says
    /// how the user of align and batch can go on (the reader itself knows no command-line flags).
    /// Reads and validates a cost-function mask for the image whose grid is `grid`; errors name
    /// the file, the option and what to do.
    static func readMask(_ path: String, for grid: Grid, of image: String, option: String) throws -> ReadMask {
        let m = try NIfTIReader.read(path)
        guard m.frameCount == 1 else {
            throw AlignError("\(path): \(option): has \(m.frameCount) frames; a mask is one 3D volume on the \(image)'s grid")
        }
        do {
            return ReadMask(mask: try CostMask(m.frame(0), for: grid), path: path, header: m.header)
        } catch let e as CostMask.Problem {
            throw AlignError("\(path): \(option): \(e.description.replacingOccurrences(of: "its image", with: "the \(image)"))")
        }
    }

    static func read(_ path: String, nonFinite: NonFinitePolicy) throws -> NIfTIImage {
        do {
            return try NIfTIReader.read(path, options: NIfTIReadOptions(nonFinite: nonFinite))
        } catch let e as NIfTIError where e.kind == .nonFiniteVoxels {
            throw NIfTIError(path: e.path, kind: e.kind, detail: e.detail,
                             advice: "Fix the image, or run with --non-finite zero to treat those voxels as background (0; the count is recorded in the audit record)")
        }
    }

    /// Loads the protocol's model (path relative to the protocol file's folder).
    static func loadModel(_ n: RegistrationProtocol.NetworkSettings, protocolPath: String) throws
        -> (model: ModelFile, network: LocalizationNetwork, path: String, sha256: String) {
        let path = n.model.hasPrefix("/") ? n.model
            : URL(fileURLWithPath: protocolPath).deletingLastPathComponent().appendingPathComponent(n.model).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw AlignError("\(path): the protocol's network model is missing; train it with `stnreg train` (see README) or run with --no-network")
        }
        // Read once: parsed and hashed from the same bytes.
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AlignError("\(path): cannot read the protocol's network model (is it readable?)")
        }
        let (model, network) = try ModelFile.parse(data, path: path)
        return (model, network, path, SHA256.hex(data))
    }

    /// A progress note when the atlas is not the one the network was trained against (its
    /// prediction may then be a poor start; the protocol's rotation search is what copes).
    static func atlasNote(_ predictor: NetworkPredictor?, atlasPath: String) -> String? {
        guard predictor != nil, let sha = try? SHA256.hex(ofFile: atlasPath) else { return nil }
        return atlasNote(predictor, atlasSHA256: sha)
    }

    /// As ``atlasNote(_:atlasPath:)`` with the atlas file's SHA-256 already computed.
    static func atlasNote(_ predictor: NetworkPredictor?, atlasSHA256 sha: String) -> String? {
        guard let predictor else { return nil }
        let trained = predictor.model.provenance.atlas
        guard trained.sha256 != sha else { return nil }
        let name = URL(fileURLWithPath: trained.path).lastPathComponent
        return "note: the network was trained against another atlas (\(name)); its prediction may be off for this one (flag predictionDisagreement). With rotationSearch: always (the default) the rotation search competes with it; `stnreg train` makes a model for this atlas"
    }

    /// uint8 when the labels fit, else int16 when they fit, else float32.
    static func labelDatatype(for v: Volume) -> NIfTIDatatype {
        guard let r = v.intensityRange, v.voxels.allSatisfy({ $0 == $0.rounded() }) else { return .float32 }
        if r.min >= 0 && r.max <= 255 { return .uint8 }
        if r.min >= -32768 && r.max <= 32767 { return .int16 }
        return .float32
    }

    static func describe(_ path: String, _ h: NIfTIHeader) throws -> TransformRecord.Input {
        describe(path, h, sha256: try SHA256.hex(ofFile: path))
    }

    /// As ``describe(_:_:)`` with the file's hash already computed.
    static func describe(_ path: String, _ h: NIfTIHeader, sha256: String) -> TransformRecord.Input {
        let s = h.grid.spacingMM
        return .init(path: path, sha256: sha256, dims: Array(h.dims.prefix(3)),
                     spacingMM: [s.x, s.y, s.z], worldMatrix: h.matrixSource.description)
    }
}
