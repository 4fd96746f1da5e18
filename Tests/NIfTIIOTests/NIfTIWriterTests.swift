import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import NIfTIIO

/// An oblique, mirrored (det < 0), anisotropic voxel-to-world matrix without shear.
let obliqueMirrored: Affine = {
    let r = Decomposition.rotationMatrix(degrees: SIMD3(12, -7, 25))
    return Affine(linear: r * Matrix3.diagonal(SIMD3(-1.2, 0.9, 2.5)), translation: SIMD3(-80.5, 12.25, 33))
}()

struct NIfTIWriterTests {
    let dir = makeTemporaryDirectory("nifti-write")

    static func phantom(_ grid: Grid, scale: Float, offset: Float) -> Volume {
        var v = Phantom.blobs(grid: grid)
        for n in v.voxels.indices { v.voxels[n] = (v.voxels[n] * scale + offset).rounded() }
        return v
    }

    @Test("round trip, 3D and 4D, .nii and .nii.gz", arguments: NIfTIDatatype.allCases, [false, true])
    func roundTrip(_ t: NIfTIDatatype, gzip: Bool) throws {
        let grid = Grid(dims: SIMD3(9, 7, 5), voxelToWorld: obliqueMirrored)
        // Values inside every type's range: 0…200 integers (plus fractions for floats).
        var a = NIfTIWriterTests.phantom(grid, scale: 1, offset: 40)
        if !t.isInteger { for n in a.voxels.indices { a.voxels[n] += 0.375 } }
        if t == .int8 { for n in a.voxels.indices { a.voxels[n] = min(a.voxels[n], 127) } }
        let b = Volume(grid: grid, voxels: a.voxels.map { $0 / 2 }.map { t.isInteger ? $0.rounded() : $0 })
        let ext = gzip ? ".nii.gz" : ".nii"

        let p3 = dir + "/v3-\(t.rawValue)\(ext)"
        try NIfTIWriter.write(a, to: p3, datatype: t, description: "round trip")
        let r3 = try NIfTIReader.read(p3)
        #expect(r3.voxels == a.voxels)
        #expect(r3.header.datatype == t && r3.header.version == 1 && r3.header.compressed == gzip)
        #expect(r3.header.dims == [9, 7, 5, 1])
        #expect(r3.header.description == "round trip")
        checkGeometry(r3.header, obliqueMirrored)

        let p4 = dir + "/v4-\(t.rawValue)\(ext)"
        try NIfTIWriter.write(frames: [a, b, a], to: p4, datatype: t)
        let r4 = try NIfTIReader.read(p4)
        #expect(r4.frameCount == 3 && r4.header.dims == [9, 7, 5, 3])
        #expect(r4.frame(0).voxels == a.voxels)
        #expect(r4.frame(1).voxels == b.voxels)
        #expect(r4.frame(2).voxels == a.voxels)
        #expect(try NIfTIReader.readVolume(p4, frame: 1).voxels == b.voxels)
        checkGeometry(r4.header, obliqueMirrored)
    }

    func checkGeometry(_ h: NIfTIHeader, _ m: Affine, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(h.matrixSource == .sform(code: 2), sourceLocation: sourceLocation)
        #expect(h.qformCode == 1, sourceLocation: sourceLocation)
        #expect(Affine.maxAbsDifference(h.voxelToWorld, m) < float32MatrixTolerance * 100, sourceLocation: sourceLocation)
        let q = h.qform ?? .identity
        #expect(Affine.maxAbsDifference(q, m) < float32MatrixTolerance * 100, "qform \(q)", sourceLocation: sourceLocation)
        #expect(!h.sformQformDisagree, sourceLocation: sourceLocation)
        let norms = SIMD3(length(m.linear.column(0)), length(m.linear.column(1)), length(m.linear.column(2)))
        #expect(maxAbs(h.pixdim - norms) < Tolerance.float32StoredEntry, sourceLocation: sourceLocation)
    }

    @Test("integers round to nearest (ties away from zero)")
    func rounding() throws {
        let grid = Grid(dims: SIMD3(6, 1, 1), spacingMM: SIMD3(1, 1, 1))
        let v = Volume(grid: grid, voxels: [1.5, -1.5, 2.4, 2.6, -0.4, 32767.4])
        try NIfTIWriter.write(v, to: dir + "/r.nii", datatype: .int16)
        #expect(try NIfTIReader.read(dir + "/r.nii").voxels == [2, -2, 2, 3, 0, 32767])
    }

    @Test("values outside the integer type's range, or NaN, throw and write nothing",
          arguments: [(NIfTIDatatype.int16, Float(40000)), (.int16, -32768.6), (.uint8, -1), (.uint8, 255.5), (.uint8, .nan), (.int16, .infinity)])
    func outOfRange(_ t: NIfTIDatatype, _ bad: Float) throws {
        let grid = Grid(dims: SIMD3(2, 2, 2), spacingMM: SIMD3(1, 1, 1))
        var v = Volume(grid: grid, repeating: 3)
        v.voxels[5] = bad
        let path = dir + "/o.nii"
        #expect {
            try NIfTIWriter.write(v, to: path, datatype: t)
        } throws: { e in
            let e = e as? NIfTIError
            return e?.kind == .valueOutOfRange && e?.description.hasPrefix(path) == true && e?.detail.contains("1 voxels") == true
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("float32 keeps NaN as data (the reader then rejects it by default)")
    func floatNaN() throws {
        var v = Volume(grid: Grid(dims: SIMD3(2, 2, 2), spacingMM: SIMD3(1, 1, 1)), repeating: 1)
        v.voxels[0] = .nan
        try NIfTIWriter.write(v, to: dir + "/n.nii")
        #expect(try NIfTIReader.read(dir + "/n.nii", options: .init(nonFinite: .replaceWithZero)).nonFiniteReplaced == 1)
    }

    @Test("a sheared matrix: the sform is exact, the qform cannot be, and the reader flags it")
    func shear() throws {
        let m = Decomposition(translation: SIMD3(1, 2, 3), rotationDegrees: SIMD3(5, 0, 0),
                              scale: SIMD3(1, 1, 1), shear: SIMD3(0.2, 0, 0)).affine
        let v = Volume(grid: Grid(dims: SIMD3(20, 20, 20), voxelToWorld: m), repeating: 1)
        try NIfTIWriter.write(v, to: dir + "/s.nii")
        let h = try NIfTIReader.readHeader(dir + "/s.nii")
        #expect(Affine.maxAbsDifference(h.voxelToWorld, m) < float32MatrixTolerance)
        #expect(h.sformQformDisagree)
        #expect(h.matrixSource == .sform(code: 2))
    }

    @Test("a caller-given sform code is kept")
    func sformCode() throws {
        let v = Volume(grid: Grid(dims: SIMD3(3, 3, 3), spacingMM: SIMD3(1, 1, 1)), repeating: 1)
        try NIfTIWriter.write(v, to: dir + "/c.nii", sformCode: 4)
        #expect(try NIfTIReader.readHeader(dir + "/c.nii").matrixSource == .sform(code: 4))
    }

    @Test("an input path is refused (also through another spelling), and the input is untouched")
    func protectedInput() throws {
        let v = Volume(grid: Grid(dims: SIMD3(3, 3, 3), spacingMM: SIMD3(1, 1, 1)), repeating: 1)
        let input = dir + "/in.nii"
        try NIfTIWriter.write(v, to: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        for spelling in [input, dir + "/./in.nii"] {
            #expect {
                try NIfTIWriter.write(Volume(grid: v.grid, repeating: 2), to: spelling, protectedInputs: [input])
            } throws: { e in
                (e as? NIfTIError)?.kind == .wouldOverwriteInput && "\(e)".hasPrefix(spelling)
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
        // A different output overwrites an existing (non-input) file.
        try NIfTIWriter.write(Volume(grid: v.grid, repeating: 2), to: dir + "/out.nii", protectedInputs: [input])
        try NIfTIWriter.write(Volume(grid: v.grid, repeating: 5), to: dir + "/out.nii", protectedInputs: [input])
        #expect(try NIfTIReader.read(dir + "/out.nii").voxels.allSatisfy { $0 == 5 })
    }

    @Test("a missing folder is an error (libnifti alone would only print), and no temporary file is left")
    func missingFolder() throws {
        let v = Volume(grid: Grid(dims: SIMD3(3, 3, 3), spacingMM: SIMD3(1, 1, 1)), repeating: 1)
        let path = dir + "/no/such/folder/x.nii.gz"
        #expect {
            try NIfTIWriter.write(v, to: path)
        } throws: { e in
            (e as? NIfTIError)?.kind == .writeFailed && "\(e)".hasPrefix(path)
        }
        try NIfTIWriter.write(v, to: dir + "/ok.nii.gz")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["ok.nii.gz"])
    }

    @Test("bad names and singular geometry are refused")
    func refusals() throws {
        let v = Volume(grid: Grid(dims: SIMD3(3, 3, 3), spacingMM: SIMD3(1, 1, 1)), repeating: 1)
        #expect(throws: NIfTIError(path: dir + "/x.img", kind: .unsupportedFormat, detail: "the output name does not end in .nii or .nii.gz",
                                   advice: "Name the output .nii or .nii.gz")) {
            try NIfTIWriter.write(v, to: dir + "/x.img")
        }
        let flat = Volume(grid: Grid(dims: SIMD3(3, 3, 3), spacingMM: SIMD3(1, 0, 1)), repeating: 1)
        #expect { try NIfTIWriter.write(flat, to: dir + "/f.nii") } throws: { ($0 as? NIfTIError)?.kind == .singularGeometry }
    }

    @Test("the bytes on disk: NIfTI-1 magic, 352-byte offset, mm units, float32 pixdim, sform rows")
    func bytesOnDisk() throws {
        let m = Affine(rowMajor3x4: [-2, 0, 0, 90, 0, 2, 0, -126, 0, 0, 2, -72])
        let v = Volume(grid: Grid(dims: SIMD3(4, 5, 6), voxelToWorld: m), repeating: 7)
        try NIfTIWriter.write(v, to: dir + "/b.nii", datatype: .int16)
        let d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/b.nii")))
        func i16(_ o: Int) -> Int16 { Int16(d[o]) | Int16(d[o + 1]) << 8 }
        func f32(_ o: Int) -> Float { Float(bitPattern: UInt32(d[o]) | UInt32(d[o + 1]) << 8 | UInt32(d[o + 2]) << 16 | UInt32(d[o + 3]) << 24) }
        #expect(d.count == 352 + 4 * 5 * 6 * 2)
        #expect(Array(d[344..<348]) == [0x6e, 0x2b, 0x31, 0])
        #expect((0..<4).map { i16(40 + 2 * $0) } == [3, 4, 5, 6])
        #expect(i16(70) == 4 && i16(72) == 16)
        #expect(f32(108) == 352)
        #expect(d[123] & 0x07 == 2)                     // xyzt_units: mm
        #expect((1...3).map { f32(76 + 4 * $0) } == [2, 2, 2])
        #expect(f32(76) == -1)                            // qfac: det < 0
        #expect(i16(252) == 1 && i16(254) == 2)           // qform scanner, sform aligned
        #expect((0..<12).map { f32(280 + 4 * $0) } == [-2, 0, 0, 90, 0, 2, 0, -126, 0, 0, 2, -72])
        #expect(i16(352) == 7)
    }
}
