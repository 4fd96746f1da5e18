import Foundation
import VolumeCore

/// The degrees of freedom a registration may use.
public enum TransformModel: String, Sendable, Codable, CaseIterable {
    /// Rotation + translation (6 parameters).
    case rigid
    /// Rigid + one isotropic scale (7 parameters).
    case similarity
    /// Full affine: rotation, translation, three scales, three shears (12 parameters).
    case affine
}

/// Similarity measure used by refinement.
public enum SimilarityKind: String, Sendable, Codable, CaseIterable {
    /// Global normalised cross-correlation over the atlas foreground.
    case ncc
    /// Windowed (local) normalised cross-correlation, squared: sign-insensitive, so it holds
    /// across contrasts where local intensity relations flip.
    case lncc
    /// Mattes mutual information (32 bins): holds across contrasts (T2, PD, FLAIR, EPI to T1).
    case mi
}

/// What the FFT translation search correlates.
public enum TranslationSearchFeatures: String, Sendable, Codable, CaseIterable {
    /// The normalised intensities (same contrast only: assumes a positive linear relation).
    case intensity
    /// The gradient magnitude of the normalised intensities: tissue boundaries, bright in every
    /// contrast, so the shift is found when scan and atlas differ in contrast.
    case gradientMagnitude
}

/// The measure of the quality check (`similarityBefore`/`similarityAfter`, `lowSimilarity`).
public enum CheckMeasure: String, Sendable, Codable, CaseIterable {
    /// Global NCC (same contrast only).
    case ncc
    /// Normalised mutual information `2·MI / (H(atlas) + H(scan))` ∈ [0, 1]: means the same for
    /// every contrast.
    case nmi
}

/// When the exhaustive rotation search runs.
public enum RotationSearchMode: String, Sendable, Codable, CaseIterable {
    /// Always, before refinement.
    case always
    /// Only when the quality check after refinement from the translation-only start fails.
    case fallback
    /// Never (same-subject data known to be roughly aligned).
    case never
}

/// A registration preset: declarative, typed, versioned, validated when loaded.
///
/// Files are JSON (see Protocols/README.md for every key). Loading rejects an unknown key, a
/// value of the wrong type, and an out-of-range value with an error that names the key and file.
public struct RegistrationProtocol: Sendable, Codable, Equatable {
    /// One level of the coarse-to-fine pyramid.
    public struct Level: Sendable, Codable, Equatable {
        /// Isotropic working grid spacing in mm (atlas and scan are resampled to it).
        public var spacingMM: Double
        /// Optimiser iterations at this level.
        public var iterations: Int
        /// The measure optimised at this level (optional key; default: the protocol's `similarity`).
        public var similarity: SimilarityKind?

        public init(spacingMM: Double, iterations: Int, similarity: SimilarityKind? = nil) {
            self.spacingMM = spacingMM
            self.iterations = iterations
            self.similarity = similarity
        }
    }

    /// Initialisation: centre of mass, FFT translation search, coarse rotation search.
    public struct Initialisation: Sendable, Codable, Equatable {
        /// Align the intensity centres of mass first.
        public var centreOfMass: Bool
        /// Exhaustive integer-shift search by masked FFT cross-correlation.
        public var translationSearch: Bool
        /// Grid spacing (mm) of the translation and rotation searches.
        public var searchSpacingMM: Double
        /// When the rotation search runs.
        public var rotationSearch: RotationSearchMode
        /// Largest rotation (degrees, about each axis) the search covers.
        public var rotationSearchMaxDegrees: Double
        /// Step (degrees) between rotations tried about each axis.
        public var rotationSearchStepDegrees: Double
        /// The measure that scores the rotation candidates (optional key; default `ncc`).
        public var searchSimilarity: SimilarityKind = .ncc
        /// What the FFT translation search correlates (optional key; default `intensity`).
        public var translationSearchFeatures: TranslationSearchFeatures = .intensity
    }

    /// The spatial transformer: which model, its input and output ranges, and how to train it.
    public struct NetworkSettings: Sendable, Codable, Equatable {
        /// Model file, relative to the protocol file's folder (or absolute).
        public var model: String
        /// How many times the network is applied (recurrently) before refinement (1 to 4).
        public var applications: Int
        /// Edge of the network's isotropic input grid (voxels).
        public var gridSize: Int
        /// Channels of the down-sampling blocks.
        public var blockChannels: [Int]
        public var convolutionsPerBlock: Int
        /// Cells per axis kept by the pooling before the dense head (1 = global average; optional, default 1).
        public var pooledSize: Int = 1
        /// Bounds of the predicted affine (normalised frame): rotation (degrees), translation
        /// (normalised units), scale (factor ≥ 1) and shear.
        public var maxRotationDegrees: Double
        public var maxTranslation: Double
        public var maxScale: Double
        public var maxShear: Double
        /// Training perturbations at the end of the curriculum.
        public var trainRotationDegrees: Double
        public var trainTranslationMM: Double
        public var trainScale: Double
        public var trainShear: Double
        /// Training length and optimiser.
        public var trainSteps: Int
        public var trainBatchSize: Int
        public var trainLearningRate: Double
        public var trainSeed: Int
        /// σ (mm) of the blurred loss term (0 = sharp NCC only; optional, default 0).
        public var trainLossBlurMM: Double = 0
    }

    /// How refinement adapts to a scan of another contrast than the atlas (optional section).
    ///
    /// After the initialisation, search and prediction, the global NCC of the start with the
    /// atlas at the search level tells whether scan and atlas share a contrast (a T1 scan on a
    /// T1 atlas correlates strongly and positively; a T2, PD or EPI scan does not). Below
    /// `sameContrastMinNCC` every refinement level optimises `crossContrastSimilarity` instead
    /// of its own measure. The decision and the NCC are recorded.
    public struct ContrastSettings: Sendable, Codable, Equatable {
        public var sameContrastMinNCC: Double
        public var crossContrastSimilarity: SimilarityKind
    }

    /// Limits for the quality flags.
    public struct Limits: Sendable, Codable, Equatable {
        /// Scale factors outside [minScale, maxScale] raise the `extremeScale` flag.
        public var minScale: Double
        public var maxScale: Double
        /// Any |shear| above this raises the `extremeShear` flag.
        public var maxShear: Double
        /// A final similarity below this raises `lowSimilarity`.
        public var minFinalSimilarity: Double
        /// The measure `minFinalSimilarity` applies to (optional key; default `ncc`).
        public var checkMeasure: CheckMeasure = .ncc
    }

    public static let formatName = "stnreg-protocol"
    public static let currentVersion = 1

    /// Always `"stnreg-protocol"`.
    public var format: String
    /// Schema version; this build reads version 1.
    public var version: Int
    public var name: String
    public var description: String
    public var transform: TransformModel
    public var similarity: SimilarityKind
    /// Window radius in voxels of the working grid (window = 2r+1), for `lncc`.
    public var lnccRadius: Int
    /// Robust intensity normalisation: voxels are mapped so these percentiles of the foreground become 0 and 1.
    public var intensityPercentiles: [Double]
    public var initialisation: Initialisation
    /// Coarse to fine.
    public var levels: [Level]
    /// Adam learning rate of the refinement, in normalised parameter units.
    public var learningRate: Double
    public var limits: Limits
    /// The spatial transformer (optional section; absent = search-only registration).
    public var network: NetworkSettings?
    /// Cross-contrast adaptation (optional section; absent = every level uses its own measure).
    public var contrast: ContrastSettings? = nil
}

/// A protocol file could not be used.
public struct ProtocolError: Error, CustomStringConvertible, Equatable {
    public var path: String
    /// Dotted key path of the offending value (e.g. `levels[1].spacingMM`), empty for the whole file.
    public var key: String
    public var problem: String
    public var description: String {
        key.isEmpty ? "\(path): \(problem)" : "\(path): key '\(key)': \(problem)"
    }
}

extension RegistrationProtocol {
    /// Names of the presets shipped in Protocols/.
    public static let builtInNames = ["brain-affine", "brain-affine-precise", "rigid-same-subject"]
    public static let defaultName = "brain-affine"

    /// Loads and validates a protocol file.
    public static func load(path: String) throws -> RegistrationProtocol {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProtocolError(path: path, key: "", problem: "cannot read the file (does it exist?)")
        }
        return try parse(data, path: path)
    }

    /// Parses and validates protocol JSON; `path` is used in error messages only.
    public static func parse(_ data: Data, path: String) throws -> RegistrationProtocol {
        let root: JSONValue
        switch JSONValue.parse(data) {
        case .success(let v): root = v
        case .failure(let e): throw ProtocolError(path: path, key: "", problem: "not valid JSON (\(e.message))")
        }
        guard case .object(let o) = root else {
            throw ProtocolError(path: path, key: "", problem: "expected a JSON object at the top level")
        }
        return try ObjectReader(path: path, prefix: "").readProtocol(o)
    }

    /// Canonical JSON of the protocol (sorted keys), used for hashing and records.
    public func canonicalJSON() throws -> Data {
        try StableJSON.encode(self)
    }
}

/// Reads a JSON object with typed accessors, tracking which keys were used.
private struct ObjectReader {
    let path: String
    let prefix: String

    func fail(_ key: String, _ problem: String) -> ProtocolError {
        ProtocolError(path: path, key: prefix + key, problem: problem)
    }

    func checkKeys(_ obj: [String: JSONValue], allowed: [String], optional: [String] = []) throws {
        for k in obj.keys.sorted() where !allowed.contains(k) {
            throw fail(k, "unknown key (allowed here: \(allowed.joined(separator: ", ")))")
        }
        for k in allowed where obj[k] == nil && !optional.contains(k) {
            throw fail(k, "missing")
        }
    }

    func number(_ obj: [String: JSONValue], _ key: String, in range: ClosedRange<Double>) throws -> Double {
        guard let v = obj[key]?.number else {
            throw fail(key, "expected a number, found \(obj[key]?.typeName ?? "nothing")")
        }
        guard v.isFinite, range.contains(v) else {
            throw fail(key, "\(v) is out of range (\(range.lowerBound) to \(range.upperBound))")
        }
        return v
    }

    func integer(_ obj: [String: JSONValue], _ key: String, in range: ClosedRange<Int>) throws -> Int {
        let v = try number(obj, key, in: Double(range.lowerBound)...Double(range.upperBound))
        guard v == v.rounded() else { throw fail(key, "expected a whole number, found \(v)") }
        return Int(v)
    }

    func string(_ obj: [String: JSONValue], _ key: String) throws -> String {
        guard case .string(let s)? = obj[key] else { throw fail(key, "expected a string, found \(obj[key]?.typeName ?? "nothing")") }
        return s
    }

    func bool(_ obj: [String: JSONValue], _ key: String) throws -> Bool {
        guard case .bool(let b)? = obj[key] else {
            throw fail(key, "expected true or false, found \(obj[key]?.typeName ?? "nothing")")
        }
        return b
    }

    func choice<E: RawRepresentable & CaseIterable>(_ obj: [String: JSONValue], _ key: String, _: E.Type) throws -> E where E.RawValue == String {
        let s = try string(obj, key)
        guard let e = E(rawValue: s) else {
            throw fail(key, "'\(s)' is not one of \(E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
        }
        return e
    }

    func object(_ obj: [String: JSONValue], _ key: String) throws -> [String: JSONValue] {
        guard case .object(let o)? = obj[key] else { throw fail(key, "expected an object, found \(obj[key]?.typeName ?? "nothing")") }
        return o
    }

    func array(_ obj: [String: JSONValue], _ key: String) throws -> [JSONValue] {
        guard case .array(let a)? = obj[key] else { throw fail(key, "expected an array, found \(obj[key]?.typeName ?? "nothing")") }
        return a
    }

    func nested(_ key: String) -> ObjectReader { ObjectReader(path: path, prefix: prefix + key + ".") }

    func readProtocol(_ o: [String: JSONValue]) throws -> RegistrationProtocol {
        try checkKeys(o, allowed: ["format", "version", "name", "description", "transform", "similarity", "lnccRadius",
                                   "intensityPercentiles", "initialisation", "levels", "learningRate", "limits", "network",
                                   "contrast"],
                      optional: ["network", "contrast"])
        let format = try string(o, "format")
        guard format == RegistrationProtocol.formatName else {
            throw fail("format", "expected '\(RegistrationProtocol.formatName)', found '\(format)'")
        }
        let version = try integer(o, "version", in: 1...1_000_000)
        guard version == RegistrationProtocol.currentVersion else {
            throw fail("version", "this stnreg reads protocol version \(RegistrationProtocol.currentVersion), the file is version \(version); upgrade stnreg or convert the file")
        }
        let pct = try array(o, "intensityPercentiles")
        guard pct.count == 2, let lo = pct[0].number, let hi = pct[1].number,
              lo >= 0, hi <= 100, lo < hi else {
            throw fail("intensityPercentiles", "expected two numbers [low, high] with 0 ≤ low < high ≤ 100")
        }
        let ini = try object(o, "initialisation")
        let ir = nested("initialisation")
        try ir.checkKeys(ini, allowed: ["centreOfMass", "translationSearch", "searchSpacingMM", "rotationSearch",
                                         "rotationSearchMaxDegrees", "rotationSearchStepDegrees",
                                         "searchSimilarity", "translationSearchFeatures"],
                         optional: ["searchSimilarity", "translationSearchFeatures"])
        let initialisation = RegistrationProtocol.Initialisation(
            centreOfMass: try ir.bool(ini, "centreOfMass"),
            translationSearch: try ir.bool(ini, "translationSearch"),
            searchSpacingMM: try ir.number(ini, "searchSpacingMM", in: 0.5...32),
            rotationSearch: try ir.choice(ini, "rotationSearch", RotationSearchMode.self),
            rotationSearchMaxDegrees: try ir.number(ini, "rotationSearchMaxDegrees", in: 0...180),
            rotationSearchStepDegrees: try ir.number(ini, "rotationSearchStepDegrees", in: 5...180),
            searchSimilarity: ini["searchSimilarity"] == nil ? .ncc : try ir.choice(ini, "searchSimilarity", SimilarityKind.self),
            translationSearchFeatures: ini["translationSearchFeatures"] == nil ? .intensity
                : try ir.choice(ini, "translationSearchFeatures", TranslationSearchFeatures.self))
        let levelItems = try array(o, "levels")
        guard !levelItems.isEmpty, levelItems.count <= 8 else { throw fail("levels", "expected 1 to 8 levels") }
        var levels: [RegistrationProtocol.Level] = []
        for (n, item) in levelItems.enumerated() {
            let lr = nested("levels[\(n)]")
            guard case .object(let lo) = item else { throw fail("levels[\(n)]", "expected an object, found \(item.typeName)") }
            try lr.checkKeys(lo, allowed: ["spacingMM", "iterations", "similarity"], optional: ["similarity"])
            levels.append(.init(spacingMM: try lr.number(lo, "spacingMM", in: 0.25...32),
                                iterations: try lr.integer(lo, "iterations", in: 0...10_000),
                                similarity: lo["similarity"] == nil ? nil : try lr.choice(lo, "similarity", SimilarityKind.self)))
        }
        for n in 1..<max(1, levels.count) where levels[n].spacingMM > levels[n - 1].spacingMM {
            throw fail("levels[\(n)].spacingMM", "levels must go from coarse to fine (spacing must not increase)")
        }
        let lim = try object(o, "limits")
        let lmr = nested("limits")
        try lmr.checkKeys(lim, allowed: ["minScale", "maxScale", "maxShear", "minFinalSimilarity", "checkMeasure"],
                          optional: ["checkMeasure"])
        let limits = RegistrationProtocol.Limits(
            minScale: try lmr.number(lim, "minScale", in: 0.01...1),
            maxScale: try lmr.number(lim, "maxScale", in: 1...100),
            maxShear: try lmr.number(lim, "maxShear", in: 0...10),
            minFinalSimilarity: try lmr.number(lim, "minFinalSimilarity", in: -1...1),
            checkMeasure: lim["checkMeasure"] == nil ? .ncc : try lmr.choice(lim, "checkMeasure", CheckMeasure.self))
        var network: RegistrationProtocol.NetworkSettings?
        if o["network"] != nil {
            let n = try object(o, "network")
            let nr = nested("network")
            try nr.checkKeys(n, allowed: ["model", "applications", "gridSize", "blockChannels", "convolutionsPerBlock",
                                          "maxRotationDegrees", "maxTranslation", "maxScale", "maxShear",
                                          "trainRotationDegrees", "trainTranslationMM", "trainScale", "trainShear",
                                          "trainSteps", "trainBatchSize", "trainLearningRate", "trainSeed",
                                          "pooledSize", "trainLossBlurMM"],
                              optional: ["pooledSize", "trainLossBlurMM"])
            let channels = try nr.array(n, "blockChannels")
            var blocks: [Int] = []
            for (i, c) in channels.enumerated() {
                guard let v = c.number, v == v.rounded(), v >= 1, v <= 256 else {
                    throw nr.fail("blockChannels[\(i)]", "expected a whole number from 1 to 256")
                }
                blocks.append(Int(v))
            }
            guard !blocks.isEmpty, blocks.count <= 8 else { throw nr.fail("blockChannels", "expected 1 to 8 blocks") }
            network = .init(
                model: try nr.string(n, "model"),
                applications: try nr.integer(n, "applications", in: 1...4),
                gridSize: try nr.integer(n, "gridSize", in: 8...128),
                blockChannels: blocks,
                convolutionsPerBlock: try nr.integer(n, "convolutionsPerBlock", in: 1...4),
                pooledSize: n["pooledSize"] == nil ? 1 : try nr.integer(n, "pooledSize", in: 1...16),
                maxRotationDegrees: try nr.number(n, "maxRotationDegrees", in: 0...180),
                maxTranslation: try nr.number(n, "maxTranslation", in: 0...2),
                maxScale: try nr.number(n, "maxScale", in: 1...4),
                maxShear: try nr.number(n, "maxShear", in: 0...1),
                trainRotationDegrees: try nr.number(n, "trainRotationDegrees", in: 0...180),
                trainTranslationMM: try nr.number(n, "trainTranslationMM", in: 0...200),
                trainScale: try nr.number(n, "trainScale", in: 0...0.5),
                trainShear: try nr.number(n, "trainShear", in: 0...0.5),
                trainSteps: try nr.integer(n, "trainSteps", in: 1...1_000_000),
                trainBatchSize: try nr.integer(n, "trainBatchSize", in: 1...64),
                trainLearningRate: try nr.number(n, "trainLearningRate", in: 1e-6...1),
                trainSeed: try nr.integer(n, "trainSeed", in: 0...Int(Int32.max)),
                trainLossBlurMM: n["trainLossBlurMM"] == nil ? 0 : try nr.number(n, "trainLossBlurMM", in: 0...50))
        }
        var contrast: RegistrationProtocol.ContrastSettings?
        if o["contrast"] != nil {
            let c = try object(o, "contrast")
            let cr = nested("contrast")
            try cr.checkKeys(c, allowed: ["sameContrastMinNCC", "crossContrastSimilarity"])
            contrast = .init(sameContrastMinNCC: try cr.number(c, "sameContrastMinNCC", in: -1...1),
                             crossContrastSimilarity: try cr.choice(c, "crossContrastSimilarity", SimilarityKind.self))
        }
        return RegistrationProtocol(
            format: format, version: version,
            name: try string(o, "name"),
            description: try string(o, "description"),
            transform: try choice(o, "transform", TransformModel.self),
            similarity: try choice(o, "similarity", SimilarityKind.self),
            lnccRadius: try integer(o, "lnccRadius", in: 1...10),
            intensityPercentiles: [lo, hi],
            initialisation: initialisation,
            levels: levels,
            learningRate: try number(o, "learningRate", in: 1e-6...1),
            limits: limits,
            network: network,
            contrast: contrast)
    }
}

