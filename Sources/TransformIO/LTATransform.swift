import VolumeCore

/// FreeSurfer's linear transform array file (`.lta`), one transform.
///
/// **Convention.** The file holds `type = 1 # LINEAR_RAS_TO_RAS`, one 4×4 matrix, and the
/// geometry of a *source* and a *destination* volume. stnreg writes source = scan and
/// destination = atlas, and a RAS-to-RAS matrix maps source RAS to destination RAS
/// (what `mri_vol2vol --mov scan --targ atlas --lta x.lta` applies), so the matrix is
/// `scanToAtlas = atlasToScan⁻¹` in world RAS+ mm (FreeSurfer's scanner RAS of a NIfTI image
/// is its sform/qform world, as ours).
///
/// Each volume block gives `volume` (dims), `voxelsize` (column norms of `voxelToWorld`),
/// `xras`/`yras`/`zras` (the unit columns of `voxelToWorld`, i.e. the RAS direction of
/// i, j, k) and `cras`, the world position of voxel `dims / 2` (FreeSurfer's centre, *not*
/// `(dims − 1) / 2`): `voxelToWorld = [xras yras zras]·diag(voxelsize)` with translation
/// `cras − that · dims/2`.
///
/// The reader takes `LINEAR_RAS_TO_RAS` (1) directly and `LINEAR_VOX_TO_VOX` (0) through the
/// file's own volume blocks (`RAS = V_dst · M · V_src⁻¹`); it does not need the grids.
public enum LTATransform {
    /// FreeSurfer's transform type codes that the reader accepts.
    static let rasToRas = 1, voxToVox = 0

    /// The file text for `atlasToScan` (RAS, atlas→scan) with source = scan, destination = atlas.
    /// `scanName` and `atlasName` fill the `filename =` lines (no spaces: FreeSurfer splits on them).
    public static func encode(_ atlasToScan: Affine, atlasGrid: Grid, scanGrid: Grid,
                              atlasName: String = "", scanName: String = "", file: String = "LTA") throws -> String {
        let t = try TextParsing.checkedInvertible(atlasToScan, file: file, place: nil)
        let g = try requireGrids(atlasGrid, scanGrid, file: file, format: "LTA", reading: false)
        guard let scanToAtlas = t.inverse else { preconditionFailure("invertibility checked above") }
        var s = """
            # LTA file written by stnreg: source = scan, destination = atlas;
            # the matrix maps scan RAS to atlas RAS (the inverse of atlasToScan).
            type      = 1 # LINEAR_RAS_TO_RAS
            nxforms   = 1
            mean      = 0.0000 0.0000 0.0000
            sigma     = 1.0000
            1 4 4

            """
        s += TextParsing.rows4x4(scanToAtlas)
        s += "src volume info\n" + volumeInfo(g.scan, name: scanName)
        s += "dst volume info\n" + volumeInfo(g.atlas, name: atlasName)
        return s
    }

    /// The volume-geometry block for `grid` (8 lines).
    static func volumeInfo(_ grid: Grid, name: String) -> String {
        let size = grid.spacingMM
        let l = grid.voxelToWorld.linear
        let cras = grid.voxelToWorld.apply(SIMD3<Double>(grid.dims) / 2)
        func f(_ v: SIMD3<Double>) -> String { [v.x, v.y, v.z].map(TextParsing.format).joined(separator: " ") }
        return """
            valid = 1  # volume info valid
            filename = \(name.replacingOccurrences(of: " ", with: "_"))
            volume = \(grid.dims.x) \(grid.dims.y) \(grid.dims.z)
            voxelsize = \(f(size))
            xras   = \(f(l.column(0) / size.x))
            yras   = \(f(l.column(1) / size.y))
            zras   = \(f(l.column(2) / size.z))
            cras   = \(f(cras))

            """
    }

    /// The `atlasToScan` (RAS, atlas→scan) in LTA text (source = scan, destination = atlas).
    public static func decode(_ text: String, file: String) throws -> Affine {
        let lines = TextParsing.lines(text, stripComments: true)
        var type: (Int, NumberedLine)?
        var matrix: Affine?
        var matrixLine: NumberedLine?
        var blocks: [String: [String: NumberedLine]] = [:]
        var block: String?
        var n = 0
        func keyValue(_ line: NumberedLine) -> (String, String)? {
            guard let eq = line.text.firstIndex(of: "=") else { return nil }
            return (line.text[..<eq].trimmingCharacters(in: .whitespaces),
                    line.text[line.text.index(after: eq)...].trimmingCharacters(in: .whitespaces))
        }
        while n < lines.count {
            let line = lines[n]
            n += 1
            if line.text == "src volume info" || line.text == "dst volume info" {
                block = String(line.text.prefix(3)); blocks[block!] = [:]; continue
            }
            if let (key, value) = keyValue(line) {
                var v = line; v.text = value
                if let block { blocks[block]![key] = v; continue }
                switch key {
                case "type":
                    guard let code = Int(value) else {
                        throw TransformFileError(file: file, place: line.place, problem: "type '\(value.prefix(20))' is not an integer",
                                                 remedy: "the file is damaged")
                    }
                    type = (code, line)
                case "nxforms":
                    guard value == "1" else {
                        throw TransformFileError(file: file, place: line.place, problem: "nxforms = \(value.prefix(20)); expected 1",
                                                 remedy: "stnreg reads one transform per LTA file; split the array first")
                    }
                default: continue   // mean, sigma, subject, fscale: not needed
                }
                continue
            }
            if block == nil, matrix == nil {
                // The "1 4 4" line (count, rows, cols) precedes the matrix rows.
                let dims = try TextParsing.numbers(line.text, file: file, place: line.place)
                guard dims == [1, 4, 4] else {
                    throw TransformFileError(file: file, place: line.place,
                                             problem: "expected '1 4 4' before the matrix, found '\(line.text.prefix(40))'",
                                             remedy: "the file is damaged or not an LTA")
                }
                guard n + 4 <= lines.count else {
                    throw TransformFileError(file: file, place: "end of file", problem: "the 4×4 matrix is incomplete",
                                             remedy: "the file is truncated; write it again")
                }
                matrix = try TextParsing.matrix4x4(lines[n..<n + 4], file: file, what: "an LTA matrix has 4 rows of 4 numbers")
                matrixLine = lines[n]
                n += 4
                continue
            }
            if block != nil { continue }   // free text inside a block: ignore (FreeSurfer does)
            // After the matrix: "subject x" / "fscale y" trailers have no '='.
        }
        guard let (code, typeLine) = type else {
            throw TransformFileError(file: file, problem: "no 'type =' line", remedy: "this is not an LTA file")
        }
        guard let matrix, let matrixLine else {
            throw TransformFileError(file: file, problem: "no 4×4 matrix ('1 4 4' followed by 4 rows)",
                                     remedy: "the file is truncated or not an LTA")
        }
        switch code {
        case rasToRas:
            return matrix.inverse!   // matrix4x4 checked invertibility
        case voxToVox:
            let src = try geometry(blocks["src"], role: "src", file: file)
            let dst = try geometry(blocks["dst"], role: "dst", file: file)
            guard let srcInverse = src.inverse, let t = (dst * matrix * srcInverse).inverse else {
                throw TransformFileError(file: file, place: matrixLine.place, problem: "the voxel-to-voxel matrix and volume geometry give a singular transform",
                                         remedy: "the file is damaged")
            }
            return t
        default:
            throw TransformFileError(file: file, place: typeLine.place,
                                     problem: "transform type \(code) is not supported; stnreg reads LINEAR_RAS_TO_RAS (1) and LINEAR_VOX_TO_VOX (0)",
                                     remedy: "convert it with FreeSurfer's lta_convert --outlta (RAS to RAS)")
        }
    }

    /// The voxel-to-world matrix of a volume-geometry block.
    static func geometry(_ block: [String: NumberedLine]?, role: String, file: String) throws -> Affine {
        guard let block else {
            throw TransformFileError(file: file, problem: "no '\(role) volume info' block; a LINEAR_VOX_TO_VOX transform needs it",
                                     remedy: "the file is truncated or damaged")
        }
        guard let valid = block["valid"], valid.text == "1" else {
            throw TransformFileError(file: file, place: block["valid"]?.place ?? "\(role) volume info",
                                     problem: "the \(role) volume info is not valid; a LINEAR_VOX_TO_VOX transform needs it",
                                     remedy: "convert the file to LINEAR_RAS_TO_RAS with lta_convert")
        }
        func vector(_ key: String) throws -> SIMD3<Double> {
            guard let line = block[key] ?? (key == "cras" ? block["c_ras"] : nil) else {
                throw TransformFileError(file: file, place: "\(role) volume info", problem: "no '\(key) =' line",
                                         remedy: "the file is damaged")
            }
            let v = try TextParsing.numbers(line.text, count: 3, file: file, place: line.place, what: "\(key) has 3 numbers")
            return SIMD3(v[0], v[1], v[2])
        }
        let dims = try vector("volume"), size = try vector("voxelsize")
        let cols = Matrix3(rows: try vector("xras"), try vector("yras"), try vector("zras")).transposed
        let a = cols * Matrix3.diagonal(size)
        return Affine(linear: a, translation: try vector("cras") - a * (dims / 2))
    }
}
