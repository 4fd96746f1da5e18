import Foundation
import TransformIO
import VolumeCore

/// stnreg's own transform file (`*_transform.json`): the transform, how it was made and from what.
///
/// `atlasToScan` is authoritative (world RAS+ mm, atlas points → scan points, DESIGN.md);
/// `scanToAtlas` and `decomposition` are derived from it for readers' convenience.
public struct TransformRecord: Codable, Sendable {
    /// The marker and version TransformIO's reader (``StnregTransformJSON``) checks.
    public static let formatName = StnregTransformJSON.formatName
    public static let currentVersion = StnregTransformJSON.currentVersion

    /// One input file's fingerprint.
    public struct Input: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String
        public var dims: [Int]
        public var spacingMM: [Double]
        /// Which header matrix gave the geometry (e.g. "sform (code 4, MNI)").
        public var worldMatrix: String
        public init(path: String, sha256: String, dims: [Int], spacingMM: [Double], worldMatrix: String) {
            self.path = path; self.sha256 = sha256; self.dims = dims; self.spacingMM = spacingMM; self.worldMatrix = worldMatrix
        }
    }

    /// The decomposition of `atlasToScan` with its composition order spelled out.
    public struct DecompositionRecord: Codable, Sendable, Equatable {
        public var order: String
        public var translationMM: [Double]
        public var rotationDegrees: [Double]
        public var rotationAngleDegrees: Double
        public var scale: [Double]
        public var shear: [Double]
        public var determinant: Double

        public init(_ d: Decomposition) {
            order = "x' = R·Z·S·x + t; R = Rz·Ry·Rx (degrees), Z = diag(scale), S = [[1,xy,xz],[0,1,yz],[0,0,1]]"
            translationMM = [d.translation.x, d.translation.y, d.translation.z]
            rotationDegrees = [d.rotationDegrees.x, d.rotationDegrees.y, d.rotationDegrees.z]
            rotationAngleDegrees = d.rotationAngleDegrees
            scale = [d.scale.x, d.scale.y, d.scale.z]
            shear = [d.shear.x, d.shear.y, d.shear.z]
            determinant = d.determinant
        }
    }

    /// The protocol as used: its file, the SHA-256 of the bytes parsed, and the limits the check applied.
    public struct ProtocolRef: Codable, Sendable, Equatable {
        public var name: String
        public var path: String
        public var sha256: String
        public var limits: RegistrationProtocol.Limits?
        public init(name: String, path: String, sha256: String, limits: RegistrationProtocol.Limits? = nil) {
            self.name = name; self.path = path; self.sha256 = sha256; self.limits = limits
        }
    }

    /// The network model used for the prediction.
    public struct ModelRef: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String
        public init(path: String, sha256: String) { self.path = path; self.sha256 = sha256 }
    }

    public var format: String = TransformRecord.formatName
    public var version: Int = TransformRecord.currentVersion
    public var tool: String
    public var created: String
    public var commandLine: [String]
    public var atlasToScan: Affine
    public var scanToAtlas: Affine
    public var decomposition: DecompositionRecord?
    /// The initialisation: centre of mass, then the FFT translation search.
    public var initialAtlasToScan: Affine
    /// The network's prediction before refinement (nil without a network).
    public var predictedAtlasToScan: Affine?
    /// The rotation search's winner (nil when the search did not run).
    public var searchWinnerAtlasToScan: Affine?
    /// Where refinement started: the search winner, else the prediction, else the initialisation.
    public var refinementStartAtlasToScan: Affine
    /// How far (mm) the network's last recurrent application still moved the scan.
    public var predictionLastCorrectionMM: Double?
    /// The model that made the prediction (nil without a network).
    public var model: ModelRef?
    /// The measure of the quality check's `similarityBefore`/`similarityAfter` (each level's
    /// optimised measure is in `levels`).
    public var similarityMeasure: String
    /// The same-contrast decision and its NCC (nil when the protocol does not decide).
    public var contrast: Registration.ContrastDecision?
    public var similarityBefore: Double
    public var similarityAfter: Double
    /// The least `similarityAfter` that passed the check (nil in records of older versions).
    public var similarityMinimum: Double?
    public var flags: [QualityFlag]
    public var levels: [LevelReport]
    public var rotationCandidatesTried: Int
    public var timingsSeconds: [String: Double]
    public var threads: Int
    public var protocolUsed: ProtocolRef
    public var scan: Input
    public var atlas: Input
    /// The cost-function masks used (nil: none).
    public var scanMask: Input?
    public var atlasMask: Input?
    /// Other files written with this one (name → path).
    public var outputs: [String: String]

    public init(tool: String, created: String, commandLine: [String], result: RegistrationResult,
                settings: RegistrationProtocol, protocolRef: ProtocolRef, scan: Input, atlas: Input,
                outputs: [String: String], model: ModelRef? = nil) {
        self.tool = tool
        self.created = created
        self.commandLine = commandLine
        atlasToScan = result.atlasToScan
        scanToAtlas = result.atlasToScan.inverse ?? result.atlasToScan
        decomposition = Decomposition(result.atlasToScan).map(DecompositionRecord.init)
        initialAtlasToScan = result.initialisation
        predictedAtlasToScan = result.prediction
        searchWinnerAtlasToScan = result.searchWinner
        refinementStartAtlasToScan = result.refinementStart
        predictionLastCorrectionMM = result.predictionLastCorrectionMM
        self.model = model
        similarityMeasure = settings.limits.checkMeasure.rawValue
        contrast = result.contrast
        similarityBefore = result.similarityBefore
        similarityAfter = result.similarityAfter
        similarityMinimum = result.similarityMinimum
        flags = result.flags
        levels = result.levels
        rotationCandidatesTried = result.rotationCandidatesTried
        timingsSeconds = result.timings
        threads = result.threads
        protocolUsed = protocolRef
        self.scan = scan
        self.atlas = atlas
        self.outputs = outputs
    }

    /// Pretty JSON with sorted keys.
    public func encoded() throws -> Data {
        try StableJSON.encode(self)
    }
}
