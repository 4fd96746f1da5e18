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
    /// Normalised gradient fields (squared cosine of the gradients' angle, damped where either is
    /// weak): edges wherever they lie, whatever the contrast; for the fine levels after MI.
    case ngf
    /// The correlation ratio η² of the scan given the atlas's intensity (32 bins; FLIRT's default
    /// cost): any contrast.
    case cr
}

/// What the FFT translation search correlates.
public enum TranslationSearchFeatures: String, Sendable, Codable, CaseIterable {
    /// The normalised intensities (same contrast only: assumes a positive linear relation).
    case intensity
    /// The gradient magnitude of the normalised intensities: tissue boundaries, bright in every
    /// contrast, so the shift is found when scan and atlas differ in contrast.
    case gradientMagnitude
    /// Both searches; the shift whose result scores higher on the search measure
    /// (`initialisation.searchSimilarity`) wins. Intensities find the head of a same-contrast
    /// scan with skull where gradient magnitudes can lock onto the skull's edges (measured: a
    /// Colin27 T1 with skull rotated 90° ended 24 mm off with gradient magnitudes alone).
    case both
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
/// Files are JSON (see Protocols/README.md for every key; the key tables in ProtocolKeys.swift
/// give each key's name, type, range and whether it may be left out, once). Loading rejects an
/// unknown key, a value of the wrong type, and an out-of-range value with an error that names
/// the key and file.
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

    /// The spatial transformer at inference (`network` section): which model, applied how often.
    ///
    /// The network's architecture, input grid and output ranges come from the model file only
    /// (it stores them); how to make a model is the `training` section.
    public struct NetworkSettings: Sendable, Codable, Equatable {
        /// Model file, relative to the protocol file's folder (or absolute).
        public var model: String
        /// How many times the network is applied (recurrently) before refinement (1 to 4).
        public var applications: Int
    }

    /// How `stnreg train` makes a model (`training` section): the architecture, the output ranges
    /// and the training run. `align` takes the network from the model file only; it reads this
    /// section just to check that the architecture and output ranges it states are the model's
    /// (a contradiction is an error naming both files: ``disagreement(with:)``).
    public struct TrainingSettings: Sendable, Codable, Equatable {
        /// Edge of the network's isotropic input grid (voxels).
        public var gridSize: Int
        /// Channels of the down-sampling blocks.
        public var blockChannels: [Int]
        public var convolutionsPerBlock: Int
        /// Cells per axis kept by the pooling before the dense head (1 = global average; optional, default 1).
        public var pooledSize: Int = 1
        /// Feature maps of the centroid head (``CentroidHead``); 0 = the dense head (optional, default 0).
        public var centroids: Int = 0
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
    /// A probe first finds a start whatever the contrast (the translation search on
    /// `translationSearchFeatures`, the rotation search scored on `searchSimilarity`). There, over
    /// the atlas's tissue, the *linearity* — global NCC divided by the correlation ratio η —
    /// tells whether the scan's intensities are a positive linear function of the atlas's (a T1
    /// on a T1 atlas: 0.95–0.99 measured, misaligned or not) or some other function (T2
    /// renderings 0.33–0.79, PD 0.46–0.86). At or above `sameContrastMinLinearity` the protocol's
    /// own pipeline runs as if the section were absent; below it the probe's start is refined
    /// with `crossContrastSimilarity` on every level. The decision and its figures are recorded.
    public struct ContrastSettings: Sendable, Codable, Equatable {
        public var sameContrastMinLinearity: Double
        /// The measure every level optimises on the cross-contrast path (`mi`).
        public var crossContrastSimilarity: SimilarityKind
        /// The rotation search's measure on the cross-contrast path (optional key; default `mi`).
        public var searchSimilarity: SimilarityKind = .mi
        /// The translation search's features on the cross-contrast path (optional key; default `both`).
        public var translationSearchFeatures: TranslationSearchFeatures = .both
        /// Whether a skull-stripped atlas gets a synthetic head for the cross-contrast path's
        /// searches and coarsest level (optional key; default `auto`; ``HeadShellMode``).
        public var headShell: HeadShellMode = .auto
        /// Whether the cross-contrast path's levels after the first optimise windowed NCC against
        /// the atlas rendered in the scan's contrast (optional key; default `off`; ``IntensityRemapMode``).
        public var intensityRemap: IntensityRemapMode = .off
        /// The least η² (correlation ratio over the atlas's tissue, at the level's start) for a
        /// level to run against the remapped atlas; below it the level keeps
        /// `crossContrastSimilarity` (optional key; default 0.1).
        public var intensityRemapMinCorrelationRatio: Double = 0.1
        /// The measure of the basin stage on the head shell's path (optional key; absent: no
        /// basin stage; ``BasinStage``): its first `basinLevels` levels refined on it from the
        /// path's start decide, when the path's own levels end more than `basinToleranceMM` away
        /// (mean over the atlas mask), which result is kept. The shipped presets use `ngf`: edges,
        /// whose positions do not depend on the contrast, tell the brain from the whole head where
        /// mutual information over a skull-stripped atlas does not (README, "A scan with skull,
        /// another contrast, a skull-stripped atlas").
        public var basinSimilarity: SimilarityKind? = nil
        /// How many of the protocol's levels, coarsest first, the basin stage refines (optional
        /// key; default 2).
        public var basinLevels: Int = 2
        /// How far (mm, mean over the atlas mask on the search level) the path's own levels may
        /// end from the basin stage's result and be kept without a ranking (optional key; default 5).
        public var basinToleranceMM: Double = 5
    }

    /// `contrast.intensityRemap`: `atlas` maps the atlas's intensities into the scan's contrast
    /// (E[scan | atlas], from the coarser level's result: ``IntensityRemap``) on every level of
    /// the cross-contrast path after the first, which then optimises windowed NCC; `off` keeps
    /// `crossContrastSimilarity` on every level.
    public enum IntensityRemapMode: String, Sendable, Codable, CaseIterable {
        case off, atlas
    }

    /// `contrast.headShell`: `auto` decides from the images (``Registration/HeadShellDecision``);
    /// `off` never uses the shell.
    public enum HeadShellMode: String, Sendable, Codable, CaseIterable {
        case auto, off
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
        /// The minimum instead of `minFinalSimilarity` when the atlas is a brain, not a head
        /// (``HeadShell/atlasIsABrain(foregroundLitres:)``; optional key, nil: the same minimum).
        /// A skull-stripped atlas scores lower on every measure over its mask: the brain's edge
        /// against the scan's CSF and skull, which a head atlas adds, is not in the mask.
        public var minFinalSimilarityBrainAtlas: Double?
        /// The measure `minFinalSimilarity` applies to (optional key; default `ncc`).
        public var checkMeasure: CheckMeasure = .ncc

        /// The least final similarity that passes the check against this kind of atlas.
        public func minFinalSimilarity(brainAtlas: Bool) -> Double {
            brainAtlas ? minFinalSimilarityBrainAtlas ?? minFinalSimilarity : minFinalSimilarity
        }
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
    /// Adam learning rate of the refinement, in normalised parameter units (BFGS's first step).
    public var learningRate: Double
    /// How refinement minimises (optional key; default `adam`, the fixed-iteration method of
    /// protocol files written before the key existed).
    public var optimizer: RefinementOptimizer = .adam
    /// Convergence of the second-order optimiser at the finest level: it ends when a step moves
    /// no point of the brain by more than this (mm; optional key). A coarser level of spacing
    /// `s` stops at `convergenceMM · s / finest spacing` (it only has to land within the next
    /// level's reach). Adam ignores it.
    public var convergenceMM: Double = 0.01

    /// The convergence tolerance (mm) of the level of spacing `spacingMM`.
    public func convergenceMM(atSpacing spacingMM: Double) -> Double {
        let finest = levels.map(\.spacingMM).min() ?? spacingMM
        return convergenceMM * max(1, spacingMM / finest)
    }
    public var limits: Limits
    /// The spatial transformer (optional section; absent = search-only registration).
    public var network: NetworkSettings?
    /// How to train the spatial transformer (optional section; `stnreg train` needs it).
    public var training: TrainingSettings? = nil
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
        key.isEmpty ? "\(path): \(problem)" : "\(path): key '\(ProtocolError.printable(key))': \(problem)"
    }

    /// The key with control characters escaped (`\n`, `\u{1B}`), so the message stays one line
    /// whatever the file holds.
    static func printable(_ key: String) -> String {
        key.unicodeScalars.map { c in
            switch c {
            case "\n": return "\\n"
            case "\r": return "\\r"
            case "\t": return "\\t"
            default: return c.properties.generalCategory == .control ? "\\u{\(String(c.value, radix: 16, uppercase: true))}" : String(c)
            }
        }.joined()
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
        return try ObjectReader(path: path, prefix: "").read(o, RegistrationProtocol.keys, into: .unread)
    }

    /// Canonical JSON of the protocol (sorted keys), used for hashing and records.
    public func canonicalJSON() throws -> Data {
        try StableJSON.encode(self)
    }
}
