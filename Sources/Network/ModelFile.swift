import Foundation
import Hashing
import VolumeCore

/// A trained localization network on disk: self-describing JSON (`.stnmodel`).
///
/// Holds the format version, the architecture, the parameter map (output ranges), the input
/// frame rule and intensity normalisation, training provenance, and the weights: each tensor's
/// values as little-endian Float32 in base64, with the SHA-256 of all weight bytes so that a
/// corrupted file is refused. ``load(path:)`` validates everything and names the field at fault.
public struct ModelFile: Codable, Sendable {
    public static let formatName = "stnreg-model"
    public static let currentVersion = 1

    /// How inputs are prepared (the predictor must repeat it exactly).
    public struct Input: Codable, Sendable, Equatable {
        /// Edge of the isotropic input grid (voxels).
        public var gridSize: Int
        /// The grid is centred on the atlas foreground box (normalised intensity > threshold,
        /// grown by `marginMM`), half-extent = half its largest side.
        public var foregroundThreshold: Double
        public var marginMM: Double
        /// Robust intensity normalisation of scan and atlas: these percentiles of the
        /// non-background voxels map to 0 and 1, clipped.
        public var intensityPercentiles: [Double]
        public init(gridSize: Int, foregroundThreshold: Double = 0.05, marginMM: Double = 10, intensityPercentiles: [Double] = [1, 99]) {
            self.gridSize = gridSize
            self.foregroundThreshold = foregroundThreshold
            self.marginMM = marginMM
            self.intensityPercentiles = intensityPercentiles
        }
    }

    /// Where the weights came from.
    public struct Provenance: Codable, Sendable, Equatable {
        public struct FileRef: Codable, Sendable, Equatable {
            public var path: String
            public var sha256: String
            public init(path: String, sha256: String) { self.path = path; self.sha256 = sha256 }
        }
        public var tool: String
        public var created: String
        public var commandLine: [String]
        public var atlas: FileRef
        public var trainingScans: [FileRef]
        public var validationScans: [FileRef]
        public var seed: UInt64
        public var steps: Int
        public var batchSize: Int
        public var threads: Int
        public var finalTrainingLoss: Double
        public var finalValidationLoss: Double
        public var seconds: Double
        public init(tool: String, created: String, commandLine: [String], atlas: FileRef, trainingScans: [FileRef],
                    validationScans: [FileRef], seed: UInt64, steps: Int, batchSize: Int, threads: Int,
                    finalTrainingLoss: Double, finalValidationLoss: Double, seconds: Double) {
            self.tool = tool; self.created = created; self.commandLine = commandLine; self.atlas = atlas
            self.trainingScans = trainingScans; self.validationScans = validationScans; self.seed = seed
            self.steps = steps; self.batchSize = batchSize; self.threads = threads
            self.finalTrainingLoss = finalTrainingLoss; self.finalValidationLoss = finalValidationLoss; self.seconds = seconds
        }
    }

    /// One stored tensor.
    public struct StoredTensor: Codable, Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        /// Little-endian Float32 values, base64.
        public var data: String
    }

    public var format: String
    public var version: Int
    public var architecture: NetworkArchitecture
    public var parameterMap: AffineParameterMap
    public var input: Input
    public var provenance: Provenance
    /// SHA-256 (hex) of the concatenated little-endian Float32 bytes of every tensor, in order.
    public var weightsSHA256: String
    public var tensors: [StoredTensor]

    /// Packs a network and its settings.
    public init(network: LocalizationNetwork, parameterMap: AffineParameterMap, input: Input, provenance: Provenance) {
        format = ModelFile.formatName
        version = ModelFile.currentVersion
        architecture = network.architecture
        self.parameterMap = parameterMap
        self.input = input
        self.provenance = provenance
        let hasher = SHA256.Hasher()
        tensors = network.parameterTensors.map { t in
            let bytes = ModelFile.littleEndianBytes(t.values)
            hasher.update(bytes)
            return StoredTensor(name: t.name, shape: t.shape, data: Data(bytes).base64EncodedString())
        }
        weightsSHA256 = hasher.finalizeHex()
    }

    /// JSON text (sorted keys; tensors last is not guaranteed by JSON, readers must not care).
    public func encoded() throws -> Data {
        try StableJSON.encode(self, pretty: false)
    }

    /// Writes the model atomically.
    public func write(to path: String, protectedInputs: [String] = []) throws {
        try AtomicFile.write(try encoded(), to: path, protectedInputs: protectedInputs)
    }

    /// Reads and validates a model file; returns it with the network rebuilt and loaded.
    public static func load(path: String) throws -> (model: ModelFile, network: LocalizationNetwork) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFileError(path: path, field: "", problem: "cannot read the file (does it exist?)")
        }
        return try parse(data, path: path)
    }

    /// Parses and validates model JSON; `path` is used in errors.
    public static func parse(_ data: Data, path: String) throws -> (model: ModelFile, network: LocalizationNetwork) {
        // Check the marker and version first, so a wrong file gets the clearest message.
        guard case .success(let root) = JSONValue.parse(data), case .object(let o) = root else {
            throw ModelFileError(path: path, field: "", problem: "not a stnreg model (not valid JSON, or truncated)")
        }
        guard case .string(let f)? = o["format"], f == formatName else {
            throw ModelFileError(path: path, field: "format", problem: "expected \"\(formatName)\" (is this a stnreg model file?)")
        }
        guard let v = o["version"]?.number, v == Double(currentVersion) else {
            throw ModelFileError(path: path, field: "version", problem: "this stnreg reads model version \(currentVersion); retrain or upgrade stnreg")
        }
        let model: ModelFile
        do {
            model = try JSONDecoder().decode(ModelFile.self, from: data)
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw ModelFileError(path: path, field: fieldPath(ctx.codingPath + [key]), problem: "missing")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw ModelFileError(path: path, field: fieldPath(ctx.codingPath), problem: "wrong type (\(ctx.debugDescription))")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw ModelFileError(path: path, field: fieldPath(ctx.codingPath), problem: "missing value")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw ModelFileError(path: path, field: fieldPath(ctx.codingPath), problem: ctx.debugDescription)
        }
        do {
            try model.architecture.validate()
        } catch {
            throw ModelFileError(path: path, field: "architecture", problem: String(describing: error))
        }
        guard model.input.gridSize == model.architecture.gridSize else {
            throw ModelFileError(path: path, field: "input.gridSize", problem: "\(model.input.gridSize) does not match architecture.gridSize \(model.architecture.gridSize)")
        }
        let hasher = SHA256.Hasher()
        var tensors: [ParameterTensor] = []
        for (n, t) in model.tensors.enumerated() {
            guard let bytes = Data(base64Encoded: t.data), bytes.count % 4 == 0 else {
                throw ModelFileError(path: path, field: "tensors[\(n)].data", problem: "not valid base64 Float32 data (\(t.name))")
            }
            hasher.update(bytes)
            tensors.append(ParameterTensor(name: t.name, shape: t.shape, values: floats(fromLittleEndian: bytes)))
        }
        guard hasher.finalizeHex() == model.weightsSHA256 else {
            throw ModelFileError(path: path, field: "weightsSHA256", problem: "the weights do not match their checksum; the file is corrupt")
        }
        var network = try LocalizationNetwork(architecture: model.architecture, seed: 0)
        do {
            try network.loadParameters(tensors)
        } catch {
            throw ModelFileError(path: path, field: "tensors", problem: String(describing: error))
        }
        return (model, network)
    }

    static func littleEndianBytes(_ values: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * 4)
        for (n, v) in values.enumerated() {
            let b = v.bitPattern.littleEndian
            out[4 * n] = UInt8(truncatingIfNeeded: b)
            out[4 * n + 1] = UInt8(truncatingIfNeeded: b >> 8)
            out[4 * n + 2] = UInt8(truncatingIfNeeded: b >> 16)
            out[4 * n + 3] = UInt8(truncatingIfNeeded: b >> 24)
        }
        return out
    }

    static func floats(fromLittleEndian data: Data) -> [Float] {
        let bytes = [UInt8](data)
        return (0..<(bytes.count / 4)).map { n in
            let b = UInt32(bytes[4 * n]) | UInt32(bytes[4 * n + 1]) << 8 | UInt32(bytes[4 * n + 2]) << 16 | UInt32(bytes[4 * n + 3]) << 24
            return Float(bitPattern: b)
        }
    }

    private static func fieldPath(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
            .replacingOccurrences(of: ".[", with: "[")
    }
}

/// A model file could not be used.
public struct ModelFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var field: String
    public var problem: String
    public var description: String {
        field.isEmpty ? "\(path): \(problem)" : "\(path): field '\(field)': \(problem)"
    }
}
