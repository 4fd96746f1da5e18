import Foundation
import Hashing
import NIfTIIO
import QuickLook
import Registration
import Sampling
import VolumeCore

/// Registers every frame of a 4D series (`dim[4] > 1`) to one reference and writes the
/// aligned series, the per-frame transforms and the motion parameters over time.
///
/// **Reference.** ``Reference/atlas(_:)``: each frame to a 3D atlas (outputs on the atlas grid,
/// protocol default `brain-affine`). ``Reference/frame(_:)``: each frame to frame N of the same
/// series — motion correction (outputs on the series' own grid, protocol default
/// `rigid-same-subject`). Frame N is registered to itself like the others (≈ identity), so
/// every frame goes through the same pipeline.
///
/// **Outputs** for prefix `P` (each written to a temporary name and renamed; never over an input):
/// - `P_warped.nii.gz` — the aligned series, one frame per input frame, float32, on the reference grid;
/// - `P_transforms.json` — `{"format": "stnreg-series-transforms", "version": 1, "series",
///   "reference": {"kind": "atlas"|"frame", "path", "frame"}, "frames": [TransformRecord…]}`:
///   one full stnreg transform record per frame, in frame order (each with `atlasToScan` =
///   reference world point → frame world point, RAS+ mm, DESIGN.md). One JSON for the whole
///   series rather than 6 files per frame (other tools' formats per frame are not written);
/// - `P_motion.csv` — `frame, translation x/y/z (mm), rotation x/y/z (degrees), similarity
///   before/after, flags` from the ``Decomposition`` of each frame's `atlasToScan`;
/// - `P_motion.png` — the same over time: translation x/y/z (mm) in the top panel, rotation
///   x/y/z (degrees) in the bottom one; x blue, y red, z green (``LinePlot/palette``).
///
/// Memory: the series is read once (every frame), and the warped frames are kept until the
/// 4D file is written: about (series + frames × reference grid) × 4 bytes.
public struct SeriesJob: Sendable {
    public enum Reference: Sendable, Equatable {
        /// A 3D atlas at this path.
        case atlas(String)
        /// Frame N (0-based) of the series itself.
        case frame(Int)
    }

    public var seriesPath: String
    public var reference: Reference
    /// Output prefix (folder and file stem).
    public var prefix: String
    /// `--protocol NAME|PATH`; nil = ``defaultProtocol(for:)``.
    public var protocolName: String?
    public var useNetwork: Bool
    public var threads: Int
    public var commandLine: [String]
    /// NaN/±Inf voxels in the series or atlas: refuse (default) or set to 0 (see ``AlignJob/nonFinite``).
    public var nonFinite: NonFinitePolicy = .reject

    public init(seriesPath: String, reference: Reference, prefix: String, protocolName: String? = nil, useNetwork: Bool = true,
                threads: Int = ThreadPolicy.defaultThreadCount, commandLine: [String] = CommandLine.arguments) {
        self.seriesPath = seriesPath
        self.reference = reference
        self.prefix = prefix
        self.protocolName = protocolName
        self.useNetwork = useNetwork
        self.threads = threads
        self.commandLine = commandLine
    }

    /// `brain-affine` to an atlas, `rigid-same-subject` to a frame of the same series.
    public static func defaultProtocol(for reference: Reference) -> String {
        if case .frame = reference { return "rigid-same-subject" }
        return RegistrationProtocol.defaultName
    }

    /// The protocol name or path actually used.
    public var effectiveProtocol: String { protocolName ?? SeriesJob.defaultProtocol(for: reference) }

    /// The output paths, by role.
    public var outputPaths: SeriesOutputs { SeriesOutputs(prefix: prefix) }

    /// What the job produced.
    public struct Outcome: Sendable {
        /// One record per frame, in frame order.
        public var frames: [TransformRecord]
        public var outputs: SeriesOutputs
        public var protocolRef: TransformRecord.ProtocolRef
        public var model: TransformRecord.ModelRef?
        public var series: TransformRecord.Input
        /// The atlas, or the series itself for a frame reference.
        public var reference: TransformRecord.Input
        public var seconds: Double
        /// NaN/±Inf voxels set to 0, by input role (`scan`, `atlas`).
        public var nonFiniteReplaced: [String: Int] = [:]

        /// Frames with a failing quality flag (``QualityFlag/isFailure``), in frame order.
        public var failedFrames: [(frame: Int, flags: [QualityFlag])] {
            frames.enumerated().compactMap { n, r in
                let bad = r.flags.filter(\.isFailure)
                return bad.isEmpty ? nil : (n, bad)
            }
        }
    }

    /// The series transforms file.
    struct TransformsFile: Codable {
        struct ReferenceRef: Codable { var kind: String; var path: String; var frame: Int? }
        var format = "stnreg-series-transforms"
        var version = 1
        var series: String
        var reference: ReferenceRef
        var frames: [TransformRecord]
    }

    /// Runs the job. `progress` receives one line per frame.
    public func run(progress: (@Sendable (String) -> Void)? = nil) throws -> Outcome {
        let clock = Stopwatch()
        let outputs = outputPaths
        var inputs = [seriesPath]
        if case .atlas(let a) = reference { inputs.append(a) }
        for (_, path) in outputs.all { try AtomicFile.refuseInputs(path, inputs) }
        let folder = URL(fileURLWithPath: prefix).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw AtomicFile.WriteError(path: prefix, reason: "the output folder \(folder) does not exist; create it or choose another output folder")
        }

        let (settings, protocolPath, protocolBytes) = try ProtocolLocator.loadWithBytes(effectiveProtocol)
        // The protocol as used: the hash of the bytes parsed, the limits the check applies.
        let protocolRef = TransformRecord.ProtocolRef(name: settings.name, path: protocolPath, sha256: SHA256.hex(protocolBytes),
                                                      limits: settings.limits)
        let image = try AlignJob.read(seriesPath, nonFinite: nonFinite)
        guard image.frameCount > 1 else {
            throw SeriesError("\(seriesPath): has 1 frame; a series needs several (register a 3D scan to an atlas instead)")
        }
        let seriesInput = try AlignJob.describe(seriesPath, image.header)
        let fixed: Volume
        let referenceInput: TransformRecord.Input
        let referenceRef: TransformsFile.ReferenceRef
        var disagree = image.header.sformQformDisagree
        var replaced = ["scan": image.nonFiniteReplaced]
        switch reference {
        case .atlas(let atlasPath):
            let atlasImage = try AlignJob.read(atlasPath, nonFinite: nonFinite)
            guard atlasImage.frameCount == 1 else {
                throw SeriesError("\(atlasPath): has \(atlasImage.frameCount) frames; the atlas must be a 3D volume")
            }
            fixed = atlasImage.frame(0)
            referenceInput = try AlignJob.describe(atlasPath, atlasImage.header)
            referenceRef = .init(kind: "atlas", path: atlasPath, frame: nil)
            replaced["atlas"] = atlasImage.nonFiniteReplaced
            disagree = disagree || atlasImage.header.sformQformDisagree
        case .frame(let n):
            guard n >= 0 && n < image.frameCount else {
                throw SeriesError("\(seriesPath): --to-frame \(n) is outside the series' frames 0…\(image.frameCount - 1)")
            }
            fixed = image.frame(n)
            referenceInput = seriesInput
            referenceRef = .init(kind: "frame", path: seriesPath, frame: n)
        }
        let (predictor, modelRef) = try SeriesJob.asSeriesError { try AlignJob.loadPredictor(settings, protocolPath: protocolPath, useNetwork: useNetwork) }
        let scanName = URL(fileURLWithPath: seriesPath).lastPathComponent

        var records: [TransformRecord] = []
        var warpedFrames: [Volume] = []
        for t in 0..<image.frameCount {
            let frameClock = Stopwatch()
            let scan = image.frame(t)
            var result = try SeriesJob.asSeriesError { try AlignJob.registerVolumes(scan: scan, atlas: fixed, settings: settings, predictor: predictor,
                                                      threads: threads, rotationSearch: nil, refine: true,
                                                      context: "\(seriesPath) frame \(t) → \(referenceRef.kind == "atlas" ? referenceRef.path : "frame \(referenceRef.frame!)")",
                                                      progress: nil) }
            if disagree { result.flags.append(.headerMatricesDisagree) }
            warpedFrames.append(resample(scan, onto: fixed.grid, atlasToScan: result.atlasToScan, interpolation: .linear, threads: threads))
            result.timings["wall"] = frameClock.total
            records.append(TransformRecord(tool: STNRegBuild.tool, created: UTCTime.string(.seconds), commandLine: commandLine,
                                           result: result, settings: settings, protocolRef: protocolRef,
                                           scan: seriesInput, atlas: referenceInput, outputs: outputs.byRole, model: modelRef))
            progress?(String(format: "%@ frame %d/%d: similarity %.4f → %.4f", scanName, t + 1, image.frameCount,
                             result.similarityBefore, result.similarityAfter))
        }

        try NIfTIWriter.write(frames: warpedFrames, to: outputs[.warped], datatype: .float32,
                              description: "stnreg series", protectedInputs: inputs, threads: threads)
        warpedFrames = []
        let file = TransformsFile(series: seriesPath, reference: referenceRef, frames: records)
        try AtomicFile.write(try StableJSON.encode(file), to: outputs[.transforms], protectedInputs: inputs)
        try AtomicFile.write(Data(SeriesJob.motionCSV(records).utf8), to: outputs[.motionCSV], protectedInputs: inputs)
        let plot = SeriesJob.motionPlot(records)
        try AtomicFile.refuseInputs(outputs[.motionPlot], inputs)
        try AtomicFile.withTemporary(for: outputs[.motionPlot]) { tmp in try PNGWriter.write(plot, to: tmp) }
        return Outcome(frames: records, outputs: outputs, protocolRef: protocolRef, model: modelRef, series: seriesInput,
                       reference: referenceInput, seconds: clock.total,
                       nonFiniteReplaced: replaced)
    }

    /// The align stages a series shares report ``AlignError``; a series reports ``SeriesError``
    /// (same text).
    static func asSeriesError<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as AlignError { throw SeriesError(e.description) }
    }

    /// Translation (mm) and rotation (degrees) of each frame's `atlasToScan` (NaN when it has no decomposition).
    static func motion(_ r: TransformRecord) -> (translation: [Double], rotation: [Double]) {
        guard let d = r.decomposition else { return ([.nan, .nan, .nan], [.nan, .nan, .nan]) }
        return (d.translationMM, d.rotationDegrees)
    }

    /// The CSV beside the plot: one row per frame.
    static func motionCSV(_ records: [TransformRecord]) -> String {
        var csv = "frame,translation_x_mm,translation_y_mm,translation_z_mm,rotation_x_deg,rotation_y_deg,rotation_z_deg,similarity_before,similarity_after,flags\n"
        for (t, r) in records.enumerated() {
            let m = motion(r)
            let numbers = (m.translation + m.rotation + [r.similarityBefore, r.similarityAfter]).map { String(format: "%.6f", $0) }
            csv += "\(t)," + numbers.joined(separator: ",") + "," + r.flags.map(\.rawValue).joined(separator: ";") + "\n"
        }
        return csv
    }

    /// Translation x/y/z over frames (top) and rotation x/y/z (bottom), 8 white pixels apart.
    static func motionPlot(_ records: [TransformRecord]) -> RGBImage {
        let ms = records.map(motion)
        func series(_ pick: @escaping ((translation: [Double], rotation: [Double])) -> [Double]) -> [[(x: Double, y: Double)]] {
            (0..<3).map { axis in ms.enumerated().map { (x: Double($0.offset), y: pick($0.element)[axis]) } }
        }
        let top = LinePlot.render(series { $0.translation }, width: 640, height: 240)
        let bottom = LinePlot.render(series { $0.rotation }, width: 640, height: 240)
        var out = RGBImage(width: 640, height: top.height + 8 + bottom.height, fill: (255, 255, 255))
        out.pixels.replaceSubrange(0..<top.pixels.count, with: top.pixels)
        let start = 3 * 640 * (top.height + 8)
        out.pixels.replaceSubrange(start..<(start + bottom.pixels.count), with: bottom.pixels)
        return out
    }
}
