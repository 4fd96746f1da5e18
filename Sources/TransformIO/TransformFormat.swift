import Foundation
import VolumeCore

/// The transform file formats stnreg writes and reads: its own JSON and those of other tools.
///
/// Every one is derived from the one transform `atlasToScan` (RAS+ mm, atlas → scan, the pull
/// direction: `warped(x) = scan(atlasToScan · x)`); each format's type documents its own
/// frame and direction.
public enum TransformFormat: String, CaseIterable, Sendable, Codable {
    /// ITK text (`.tfm`, `.txt`): LPS, fixed→moving (``ITKTextTransform``).
    case itkText
    /// ANTs/ITK binary MATLAB v4 (`.mat`): LPS, fixed→moving (``ANTsMatTransform``).
    case antsMat
    /// FSL FLIRT (`.mat`, text): scaled voxels, scan→atlas; needs both grids (``FSLTransform``).
    case fsl
    /// NiftyReg `reg_aladin -aff` (`.txt`): RAS, reference→floating (``NiftyRegTransform``).
    case niftyReg
    /// FreeSurfer LTA (`.lta`): RAS, source = scan → destination = atlas (``LTATransform``).
    case lta
    /// stnreg's transform JSON (`.json`, `"format": "stnreg-transform"`): RAS, atlas→scan
    /// (``StnregTransformJSON``).
    case stnreg

    /// The usual file name extension, without the dot.
    public var fileExtension: String {
        switch self {
        case .itkText: "tfm"
        case .antsMat: "mat"
        case .fsl: "mat"
        case .niftyReg: "txt"
        case .lta: "lta"
        case .stnreg: "json"
        }
    }

    /// Whether reading needs the atlas and scan grids.
    public var readingNeedsGrids: Bool { self == .fsl }
    /// Whether writing needs the atlas and scan grids.
    public var writingNeedsGrids: Bool { self == .fsl || self == .lta }

    /// Recognises the format of a transform file from its content, and from its extension
    /// where the content cannot tell — the one place that guesses:
    /// - a JSON object naming `"stnreg-transform"` → ``stnreg``;
    /// - text starting with `#Insight Transform File` → ``itkText``;
    /// - text with a `type =` line and `1 4 4` → ``lta``;
    /// - a MATLAB v4 header (binary) → ``antsMat``;
    /// - four rows of four numbers → ``fsl`` for a `.mat` name (FLIRT's habit), ``niftyReg`` for
    ///   `.txt` (reg_aladin's), otherwise an error asking for the format: the two are
    ///   indistinguishable by content.
    public static func detect(_ data: Data, file: String) throws -> TransformFormat {
        let ext = URL(fileURLWithPath: file).pathExtension.lowercased()
        guard !data.isEmpty else {
            throw TransformFileError(file: file, problem: "the file is empty", remedy: "write the transform again")
        }
        if let text = String(data: data, encoding: .utf8), !text.contains("\0") {
            if StnregTransformJSON.hasMarker(text) { return .stnreg }
            let lines = TextParsing.lines(text, stripComments: false)
            if lines.first?.text.hasPrefix("#Insight Transform File") == true { return .itkText }
            let bare = TextParsing.lines(text, stripComments: true)
            if bare.contains(where: { $0.text.hasPrefix("type") && $0.text.contains("=") }),
               bare.contains(where: { $0.text.split(separator: " ").filter { !$0.isEmpty } == ["1", "4", "4"] }) {
                return .lta
            }
            let numeric = bare.allSatisfy { line in
                line.text.split(whereSeparator: { $0 == " " || $0 == "\t" }).allSatisfy { Double($0) != nil }
            }
            if numeric && !bare.isEmpty {
                switch ext {
                case "mat": return .fsl
                case "txt": return .niftyReg
                default:
                    throw TransformFileError(file: file, problem: "a plain 4×4 matrix could be FSL or NiftyReg",
                                             remedy: "name the format (fsl: FLIRT .mat, scaled voxels; niftyReg: reg_aladin, RAS)")
                }
            }
            throw TransformFileError(file: file, place: lines.first?.place,
                                     problem: "not a transform format stnreg knows",
                                     remedy: "stnreg reads ITK text (.tfm/.txt), ANTs .mat, FSL .mat, NiftyReg .txt and FreeSurfer .lta")
        }
        if data.count >= 20 { return .antsMat }   // MatlabV4 checks the header itself
        throw TransformFileError(file: file, problem: "a binary file of \(data.count) bytes is too short for an ANTs .mat transform",
                                 remedy: "the file is truncated; write it again")
    }
}

/// Reading and writing transform files in the formats of ``TransformFormat``.
public enum TransformFile {
    /// The file content for `atlasToScan` (RAS+ mm, atlas → scan) in `format`.
    ///
    /// FSL and LTA need `atlasGrid` and `scanGrid`; `atlasName`/`scanName` fill LTA's
    /// `filename =` lines; `centreRAS` is the ITK/ANTs centre of rotation (RAS mm, default 0).
    /// `file` names the output in errors. Throws when a needed grid is missing or the
    /// transform is singular or not finite.
    public static func encode(_ atlasToScan: Affine, format: TransformFormat, atlasGrid: Grid? = nil, scanGrid: Grid? = nil,
                              atlasName: String = "", scanName: String = "", centreRAS: SIMD3<Double> = .zero,
                              file: String = "transform") throws -> Data {
        let t = try TextParsing.checkedInvertible(atlasToScan, file: file, place: nil)
        switch format {
        case .itkText:
            return Data(ITKTextTransform.encode(t, centreRAS: centreRAS).utf8)
        case .antsMat:
            return ANTsMatTransform.encode(t, centreRAS: centreRAS)
        case .fsl:
            let g = try requireGrids(atlasGrid, scanGrid, file: file, format: "FSL", reading: false)
            return Data(try FSLTransform.encode(t, atlasGrid: g.atlas, scanGrid: g.scan, file: file).utf8)
        case .niftyReg:
            return Data(NiftyRegTransform.encode(t).utf8)
        case .lta:
            let g = try requireGrids(atlasGrid, scanGrid, file: file, format: "LTA", reading: false)
            return Data(try LTATransform.encode(t, atlasGrid: g.atlas, scanGrid: g.scan,
                                                atlasName: atlasName, scanName: scanName, file: file).utf8)
        case .stnreg:
            return try StnregTransformJSON.encode(t)
        }
    }

    /// The `atlasToScan` (RAS+ mm, atlas → scan) in `data`; `format` nil = detect (see
    /// ``TransformFormat/detect(_:file:)``). FSL needs both grids. `file` names the data in errors.
    public static func decode(_ data: Data, format: TransformFormat? = nil, atlasGrid: Grid? = nil, scanGrid: Grid? = nil,
                              file: String = "transform") throws -> Affine {
        let format = try format ?? TransformFormat.detect(data, file: file)
        switch format {
        case .itkText:
            return try ITKTextTransform.decode(TextParsing.text(data, file: file, format: "ITK text"), file: file)
        case .antsMat:
            return try ANTsMatTransform.decode(data, file: file)
        case .fsl:
            return try FSLTransform.decode(TextParsing.text(data, file: file, format: "FSL"), file: file,
                                           atlasGrid: atlasGrid, scanGrid: scanGrid)
        case .niftyReg:
            return try NiftyRegTransform.decode(TextParsing.text(data, file: file, format: "NiftyReg"), file: file)
        case .lta:
            return try LTATransform.decode(TextParsing.text(data, file: file, format: "LTA"), file: file)
        case .stnreg:
            return try StnregTransformJSON.decode(data, file: file)
        }
    }

    /// Writes `atlasToScan` to `path` in `format`, atomically (temporary file + rename); never
    /// over a path in `protectedInputs`. Arguments as in ``encode(_:format:atlasGrid:scanGrid:atlasName:scanName:centreRAS:file:)``.
    public static func write(_ atlasToScan: Affine, format: TransformFormat, to path: String,
                             atlasGrid: Grid? = nil, scanGrid: Grid? = nil,
                             atlasName: String = "", scanName: String = "", centreRAS: SIMD3<Double> = .zero,
                             protectedInputs: [String] = []) throws {
        let data = try encode(atlasToScan, format: format, atlasGrid: atlasGrid, scanGrid: scanGrid,
                              atlasName: atlasName, scanName: scanName, centreRAS: centreRAS, file: path)
        try AtomicFile.write(data, to: path, protectedInputs: protectedInputs)
    }

    /// Reads the `atlasToScan` (RAS+ mm, atlas → scan) in the file at `path`; `format` nil =
    /// detect from content and extension. FSL needs both grids.
    public static func read(path: String, format: TransformFormat? = nil,
                            atlasGrid: Grid? = nil, scanGrid: Grid? = nil) throws -> Affine {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw TransformFileError(file: path, problem: exists ? "cannot read the file" : "no such file",
                                     remedy: exists ? "check its permissions" : "check the path")
        }
        return try decode(data, format: format, atlasGrid: atlasGrid, scanGrid: scanGrid, file: path)
    }
}
