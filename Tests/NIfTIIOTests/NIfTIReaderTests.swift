import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import NIfTIIO

/// Tolerance for matrices stored as float32 in a NIfTI-1 header.
let float32MatrixTolerance = 1e-5

/// Values that exercise each datatype's sign and range (exactly representable in Float32).
func sampleValues(_ t: NIfTIDatatype, count: Int) -> [Double] {
    let pattern: [Double]
    switch t {
    case .uint8: pattern = [0, 1, 127, 128, 255]
    case .int8: pattern = [-128, -1, 0, 1, 127]
    case .int16: pattern = [-32768, -1, 0, 1, 32767]
    case .uint16: pattern = [0, 1, 32768, 65535]
    case .int32: pattern = [-2_147_483_648, -1, 0, 1, 16_777_216]
    case .uint32: pattern = [0, 1, 4_294_967_040, 16_777_216]
    case .float32: pattern = [-1.5, 0, 0.25, 3.0e38, -7]
    case .float64: pattern = [-1.5, 0, 0.25, 1.0e30, -7]
    }
    return (0..<count).map { pattern[$0 % pattern.count] }
}

struct NIfTIReaderTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var datatype: NIfTIDatatype
        var version: Int
        var bigEndian: Bool
        var gzip: Bool
        var testDescription: String { "\(datatype.rawValue) v\(version) \(bigEndian ? "BE" : "LE")\(gzip ? " gz" : "")" }
    }

    static let cases: [Case] = NIfTIDatatype.allCases.flatMap { t in
        [Case(datatype: t, version: 1, bigEndian: false, gzip: false),
         Case(datatype: t, version: 1, bigEndian: true, gzip: false),
         Case(datatype: t, version: 2, bigEndian: false, gzip: true),
         Case(datatype: t, version: 2, bigEndian: true, gzip: false)]
    }

    @Test("every datatype, byte order and version reads to the stored values", arguments: cases)
    func datatypes(_ c: Case) throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.version = c.version
        b.bigEndian = c.bigEndian
        b.datatypeCode = Int16(c.datatype.code)
        b.dim = [3, 5, 4, 3, 1, 1, 1, 1]
        let values = sampleValues(c.datatype, count: 60)
        b.values = values
        let path = try b.write(to: dir + (c.gzip ? "/d.nii.gz" : "/d.nii"))
        let img = try NIfTIReader.read(path)
        #expect(img.header.datatype == c.datatype)
        #expect(img.header.version == c.version)
        #expect(img.header.bigEndian == c.bigEndian)
        #expect(img.header.compressed == c.gzip)
        #expect(img.header.dims == [5, 4, 3, 1])
        #expect(img.grid.dims == SIMD3(5, 4, 3))
        #expect(img.frameCount == 1)
        #expect(img.voxels == values.map { Float($0) })
    }

    @Test("scl_slope and scl_inter are applied; slope 0 or NaN means no scaling")
    func scaling() throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.datatypeCode = 4
        b.values = (0..<24).map { Double($0) - 10 }
        b.sclSlope = 0.5; b.sclInter = 100
        var img = try NIfTIReader.read(try b.write(to: dir + "/s.nii"))
        let raw: [Double] = (0..<24).map { Double($0) - 10 }
        let halfPlus100: [Float] = raw.map { Float(0.5 * $0 + 100) }
        #expect(img.voxels == halfPlus100)
        #expect(img.header.sclSlope == 0.5 && img.header.sclInter == 100)

        b.sclSlope = 0; b.sclInter = 100
        img = try NIfTIReader.read(try b.write(to: dir + "/s0.nii"))
        #expect(img.voxels == raw.map { Float($0) })

        b.sclSlope = .nan; b.sclInter = 5
        img = try NIfTIReader.read(try b.write(to: dir + "/snan.nii"))
        #expect(img.voxels == raw.map { Float($0) })

        b.version = 2; b.sclSlope = -2; b.sclInter = 1
        img = try NIfTIReader.read(try b.write(to: dir + "/s2.nii"))
        let minus2Plus1: [Float] = raw.map { Float(-2 * $0 + 1) }
        #expect(img.voxels == minus2Plus1)
    }

    @Test("4D: every frame is addressable, and readVolume loads one frame", arguments: [1, 2])
    func fourD(version: Int) throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.version = version
        b.dim = [4, 3, 2, 2, 5, 1, 1, 1]
        b.datatypeCode = 512
        b.values = (0..<60).map { Double($0 * 7) }
        let path = try b.write(to: dir + "/f.nii.gz")
        let img = try NIfTIReader.read(path)
        #expect(img.frameCount == 5)
        #expect(img.header.dims == [3, 2, 2, 5])
        for t in 0..<5 {
            let expected = (0..<12).map { Float((t * 12 + $0) * 7) }
            #expect(img.frame(t).voxels == expected)
            #expect(try NIfTIReader.readVolume(path, frame: t).voxels == expected)
            #expect(img.frame(t).grid == img.grid)
        }
        #expect(img.frames.count == 5)
    }

    @Test("dims beyond dim[0] are ignored; 5D with dim[5] = 1 reads as 4D")
    func unusedDims() throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.dim = [5, 2, 2, 2, 2, 1, 9, 9]
        let img = try NIfTIReader.read(try b.write(to: dir + "/u.nii"))
        #expect(img.header.dims == [2, 2, 2, 2])
        b.dim = [2, 3, 4, 7, 7, 7, 7, 7]
        b.values = (0..<12).map(Double.init)
        let img2 = try NIfTIReader.read(try b.write(to: dir + "/u2.nii"))
        #expect(img2.header.dims == [3, 4, 1, 1])
    }

    @Test("sform wins when sform_code > 0")
    func sformPrecedence() throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.sformCode = 4; b.qformCode = 1
        b.srow = [0, 0, 2, -10, -3, 0, 0, 20, 0, 1.5, 0, -30]
        b.pixdim = [1, 2, 3, 1.5, 1, 1, 1, 1]
        let h = try NIfTIReader.readHeader(try b.write(to: dir + "/s.nii"))
        let expected = Affine(rowMajor3x4: [0, 0, 2, -10, -3, 0, 0, 20, 0, 1.5, 0, -30])
        #expect(h.matrixSource == .sform(code: 4))
        #expect(Affine.maxAbsDifference(h.voxelToWorld, expected) < float32MatrixTolerance)
        #expect(h.sform != nil && h.qform != nil)
        // The qform here is the identity rotation with pixdim: it disagrees with the sform.
        #expect(h.sformQformDisagree)
        #expect(h.matrixSource.description == "sform (code 4, MNI 152)")
    }

    @Test("qform: quaternion, pixdim and qfac = -1 give R · diag(dx, dy, -dz) + offset")
    func qformQuaternion() throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.qformCode = 1
        // 90° about z: a = cos 45°, d = sin 45° (b = c = 0).
        b.quatern = [0, 0, 0.5.squareRoot()]
        b.qoffset = [10, -20, 30]
        b.pixdim = [-1, 2, 3, 4, 1, 1, 1, 1]
        let h = try NIfTIReader.readHeader(try b.write(to: dir + "/q.nii"))
        // R = [[0,-1,0],[1,0,0],[0,0,1]]; columns scaled by (2, 3, -4).
        let expected = Affine(rowMajor3x4: [0, -3, 0, 10, 2, 0, 0, -20, 0, 0, -4, 30])
        #expect(h.matrixSource == .qform(code: 1))
        #expect(h.sform == nil)
        #expect(!h.sformQformDisagree)
        #expect(Affine.maxAbsDifference(h.voxelToWorld, expected) < float32MatrixTolerance)
        #expect(h.voxelToWorld.determinant < 0)
    }

    @Test("no sform, no qform: nibabel's centred base affine with x flipped")
    func pixdimFallback() throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.dim = [3, 5, 4, 3, 1, 1, 1, 1]
        b.pixdim = [1, 2, 3, 4, 1, 1, 1, 1]
        let h = try NIfTIReader.readHeader(try b.write(to: dir + "/p.nii"))
        // nibabel's docstring example form: diag(-2, 3, 4), centre voxel (2, 1.5, 1) at 0.
        let expected = Affine(rowMajor3x4: [-2, 0, 0, 4, 0, 3, 0, -4.5, 0, 0, 4, -4])
        #expect(h.matrixSource == .pixdim)
        #expect(Affine.maxAbsDifference(h.voxelToWorld, expected) < Tolerance.float64FewOperations)
        #expect(h.voxelToWorld.apply(SIMD3(2, 1.5, 1)) == .zero)
    }

    @Test("sform and qform that agree are not flagged")
    func agreement() throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.qformCode = 1; b.sformCode = 2
        b.quatern = [0, 0, 0.5.squareRoot()]
        b.qoffset = [10, -20, 30]
        b.pixdim = [1, 2, 3, 4, 1, 1, 1, 1]
        b.srow = [0, -3, 0, 10, 2, 0, 0, -20, 0, 0, 4, 30]
        let h = try NIfTIReader.readHeader(try b.write(to: dir + "/a.nii"))
        #expect(h.matrixSource == .sform(code: 2))
        #expect(!h.sformQformDisagree)
        // Moving the sform by 0.01 mm is a disagreement.
        b.srow[3] += 0.01
        #expect(try NIfTIReader.readHeader(try b.write(to: dir + "/b.nii")).sformQformDisagree)
    }

    @Test("header fields: description, pixdim, codes, version, compression")
    func headerFields() throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        b.version = 2
        b.descrip = "hello header"
        b.pixdim = [1, 0.5, 0.75, 2, 3, 1, 1, 1]
        b.dim = [4, 4, 3, 2, 3, 1, 1, 1]
        b.qformCode = 2
        let h = try NIfTIReader.readHeader(try b.write(to: dir + "/h.nii.gz"))
        #expect(h.description == "hello header")
        #expect(h.pixdim == SIMD3(0.5, 0.75, 2))
        #expect(h.version == 2 && h.compressed && !h.bigEndian)
        #expect(h.qformCode == 2 && h.sformCode == 0)
        #expect(h.frameCount == 3)
        #expect(h.path == dir + "/h.nii.gz")
    }

    @Test("NaN voxels: rejected by default with the count, or replaced with zero")
    func nonFinite() throws {
        let dir = makeTemporaryDirectory()
        var b = NIfTIFileBuilder()
        var values = (0..<24).map(Double.init)
        values[3] = .nan; values[7] = .infinity; values[8] = -.infinity
        b.values = values
        let path = try b.write(to: dir + "/n.nii")
        let img = try NIfTIReader.read(path, options: .init(nonFinite: .replaceWithZero))
        #expect(img.nonFiniteReplaced == 3)
        #expect(img.voxels[3] == 0 && img.voxels[7] == 0 && img.voxels[8] == 0 && img.voxels[9] == 9)
        let v = try NIfTIReader.readVolume(path, options: .init(nonFinite: .replaceWithZero))
        #expect(v.voxels == img.voxels)
    }
}

/// The real volumes in `<repo>/../shared/data` (read-only; see its README).
struct NIfTIRealDataTests {
    static var dataFolder: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data").path
    }
    static var sharedExists: Bool {
        FileManager.default.fileExists(atPath: URL(fileURLWithPath: dataFolder).deletingLastPathComponent().path)
    }

    struct Expected: Sendable, CustomTestStringConvertible {
        var file: String
        var dims: [Int]
        var sformCode: Int
        var testDescription: String { file }
    }

    /// From shared/data/README.md.
    static let expected: [Expected] = [
        Expected(file: "ch2.nii.gz", dims: [181, 217, 181, 1], sformCode: 4),
        Expected(file: "ch2bet.nii.gz", dims: [181, 217, 181, 1], sformCode: 4),
        Expected(file: "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz", dims: [197, 233, 189, 1], sformCode: 2),
        Expected(file: "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz", dims: [197, 233, 189, 1], sformCode: 2),
        Expected(file: "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz", dims: [197, 233, 189, 1], sformCode: 2),
    ]

    @Test("real volumes read with the README's dims, datatype and sform code",
          .enabled(if: sharedExists, "shared/ is not beside the repository (expected <repo>/../shared/data)"),
          arguments: expected)
    func realVolume(_ e: Expected) throws {
        let path = NIfTIRealDataTests.dataFolder + "/" + e.file
        let img = try NIfTIReader.read(path)
        #expect(img.header.dims == e.dims)
        #expect(img.header.datatype == .uint8)
        #expect(img.header.sformCode == e.sformCode)
        #expect(img.header.matrixSource == .sform(code: e.sformCode))
        #expect(img.header.compressed)
        #expect(img.grid.spacingMM == SIMD3(1, 1, 1))
        #expect(Orientation(voxelToWorld: img.grid.voxelToWorld).code == "RAS")
        let range = try #require(img.frame(0).intensityRange)
        #expect(range.min >= 0 && range.max <= 255 && range.max > 50)
    }
}
