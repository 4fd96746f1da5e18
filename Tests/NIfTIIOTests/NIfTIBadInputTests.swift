import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import NIfTIIO

/// One test per kind of bad input: the exact error kind, and a one-line message that names
/// the file and says what to do.
struct NIfTIBadInputTests {
    let dir = makeTemporaryDirectory("nifti-bad")

    /// Reads `path` with every entry point and checks that each throws `kind` with a good message.
    func expectReadError(_ kind: NIfTIError.Kind, _ path: String, options: NIfTIReadOptions = .init(),
                         headerToo: Bool = true, mentions: String? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        var attempts: [(String, () throws -> Void)] = [
            ("read", { _ = try NIfTIReader.read(path, options: options) }),
            ("readVolume", { _ = try NIfTIReader.readVolume(path, options: options) }),
        ]
        if headerToo { attempts.append(("readHeader", { _ = try NIfTIReader.readHeader(path) })) }
        for (name, attempt) in attempts {
            do {
                try attempt()
                Issue.record("\(name) did not throw for \(path)", sourceLocation: sourceLocation)
            } catch let e as NIfTIError {
                #expect(e.kind == kind, "\(name): \(e)", sourceLocation: sourceLocation)
                #expect(e.path == path, sourceLocation: sourceLocation)
                let text = e.description
                #expect(text.hasPrefix(path + ": "), sourceLocation: sourceLocation)
                #expect(!text.contains("\n"), sourceLocation: sourceLocation)
                #expect(!e.advice.isEmpty && !e.detail.isEmpty, sourceLocation: sourceLocation)
                if let m = mentions { #expect(text.contains(m), "\(text)", sourceLocation: sourceLocation) }
            } catch {
                Issue.record("\(name) threw a non-NIfTIError: \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    func good(_ configure: (inout NIfTIFileBuilder) -> Void = { _ in }) -> NIfTIFileBuilder {
        var b = NIfTIFileBuilder()
        b.dim = [3, 8, 6, 4, 1, 1, 1, 1]
        configure(&b)
        return b
    }

    @Test func fileNotFound() {
        expectReadError(.notFound, dir + "/missing.nii")
        // libnifti would also try "missing.nii.gz"; we must not find this one instead.
        expectReadError(.notFound, dir + "/missing2.nii")
    }

    @Test func directory() throws {
        expectReadError(.isDirectory, dir)
        try FileManager.default.createDirectory(atPath: dir + "/folder.nii", withIntermediateDirectories: false)
        expectReadError(.isDirectory, dir + "/folder.nii")
    }

    @Test(.enabled(if: getuid() != 0, "root can read any file, so permissions cannot be tested"))
    func unreadable() throws {
        let path = try good().write(to: dir + "/locked.nii")
        chmod(path, 0)
        expectReadError(.unreadable, path)
    }

    @Test func unsupportedNames() throws {
        let bytes = good().bytes()
        try NIfTIFileBuilder.writeBytes(bytes, to: dir + "/scan.img")
        expectReadError(.unsupportedFormat, dir + "/scan.img", mentions: ".hdr/.img")
        try NIfTIFileBuilder.writeBytes(bytes, to: dir + "/scan.bin")
        expectReadError(.unsupportedFormat, dir + "/scan.bin", mentions: ".nii")
        // gzip data under a .nii name.
        try NIfTIFileBuilder.writeBytes(bytes, to: dir + "/zipped.nii", gzip: true)
        expectReadError(.unsupportedFormat, dir + "/zipped.nii", mentions: "gzip")
        // A header of a .hdr/.img pair (magic "ni1") named .nii.
        try good { $0.magicOverride = [0x6e, 0x69, 0x31, 0] }.write(to: dir + "/pair.nii")
        expectReadError(.unsupportedFormat, dir + "/pair.nii", mentions: "separate .img")
    }

    @Test func emptyFile() throws {
        #expect(FileManager.default.createFile(atPath: dir + "/empty.nii", contents: Data()))
        expectReadError(.truncated, dir + "/empty.nii", mentions: "empty")
    }

    @Test("truncated .nii: inside the header, and inside the voxel data", arguments: [1, 2])
    func truncatedNii(version: Int) throws {
        let bytes = good { $0.version = version }.bytes()
        try NIfTIFileBuilder.writeBytes(Array(bytes.prefix(200)), to: dir + "/h\(version).nii")
        expectReadError(.truncated, dir + "/h\(version).nii", mentions: "header")
        try NIfTIFileBuilder.writeBytes(Array(bytes.dropLast(10)), to: dir + "/d\(version).nii")
        expectReadError(.truncated, dir + "/d\(version).nii")
    }

    @Test("truncated .nii.gz: gzip stream cut in the data, and in the header")
    func truncatedGz() throws {
        var b = good()
        b.dim = [3, 40, 40, 40, 1, 1, 1, 1]
        b.datatypeCode = 16
        var rng = SeededGenerator(seed: 7)
        b.values = (0..<64000).map { _ in rng.uniform(0, 1000) }   // poorly compressible
        let gz = try NIfTIFileBuilder.gzipped(b.bytes())
        try NIfTIFileBuilder.writeBytes(Array(gz.prefix(gz.count / 2)), to: dir + "/t.nii.gz", gzip: false)
        // (The header itself is intact, and the cut trailer's ISIZE is garbage: readHeader may pass.)
        expectReadError(.truncated, dir + "/t.nii.gz", headerToo: false)
        try NIfTIFileBuilder.writeBytes(Array(gz.prefix(60)), to: dir + "/th.nii.gz", gzip: false)
        expectReadError(.truncated, dir + "/th.nii.gz")
    }

    @Test func corruptGzip() throws {
        var b = good()
        b.dim = [3, 40, 40, 40, 1, 1, 1, 1]
        b.values = (0..<64000).map { Double($0 % 977) }
        var gz = try NIfTIFileBuilder.gzipped(b.bytes())
        // Damage the deflate data well after the header (the trailer, with ISIZE, is intact).
        for n in stride(from: gz.count / 2, to: gz.count / 2 + 64, by: 1) { gz[n] ^= 0x5a }
        try NIfTIFileBuilder.writeBytes(gz, to: dir + "/c.nii.gz", gzip: false)
        expectReadError(.corruptCompression, dir + "/c.nii.gz", headerToo: false)
        // Damage to the gzip header's deflate start breaks even the header.
        var gz2 = try NIfTIFileBuilder.gzipped(b.bytes())
        for n in 10..<40 { gz2[n] ^= 0xff }
        try NIfTIFileBuilder.writeBytes(gz2, to: dir + "/c2.nii.gz", gzip: false)
        expectReadError(.corruptCompression, dir + "/c2.nii.gz")
    }

    @Test func wrongMagic() throws {
        try good { $0.magicOverride = Array("abc\0".utf8) }.write(to: dir + "/m.nii")
        expectReadError(.notNIfTI, dir + "/m.nii", mentions: "magic")
        try good { $0.version = 2; $0.magicOverride = Array("n+1\0\r\n\u{1a}\n".utf8) }.write(to: dir + "/m2.nii")
        expectReadError(.notNIfTI, dir + "/m2.nii", mentions: "magic")
        try good { $0.sizeofHdrOverride = 123 }.write(to: dir + "/s.nii")
        expectReadError(.notNIfTI, dir + "/s.nii", mentions: "sizeof_hdr")
        var rng = SeededGenerator(seed: 3)
        try NIfTIFileBuilder.writeBytes((0..<2000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, to: dir + "/r.nii")
        expectReadError(.notNIfTI, dir + "/r.nii")
    }

    @Test("zero, negative and out-of-range dims", arguments: [
        [3, 8, 0, 4, 1, 1, 1, 1], [3, 8, -6, 4, 1, 1, 1, 1], [0, 8, 6, 4, 1, 1, 1, 1], [8, 8, 6, 4, 1, 1, 1, 1],
        [-3, 8, 6, 4, 1, 1, 1, 1],
    ] as [[Int64]])
    func badDims(_ dim: [Int64]) throws {
        let path = try good { $0.dim = dim; $0.values = [] }.write(to: dir + "/d.nii")
        expectReadError(.badDimensions, path, mentions: "dim[")
    }

    @Test func fiveD() throws {
        let path = try good { $0.dim = [5, 2, 2, 2, 2, 3, 1, 1] }.write(to: dir + "/5d.nii")
        expectReadError(.badDimensions, path, mentions: "3D and 4D")
    }

    @Test("absurd dims are refused before any allocation")
    func absurdDims() throws {
        // NIfTI-1: 32767³ int16 ≈ 70 TB.
        let p1 = try good { $0.dim = [3, 32767, 32767, 32767, 1, 1, 1, 1]; $0.datatypeCode = 4; $0.values = [] }.write(to: dir + "/a1.nii")
        expectReadError(.tooLarge, p1, headerToo: false, mentions: "32767×32767×32767")
        // NIfTI-2: 64-bit dims whose product overflows.
        let p2 = try good { $0.version = 2; $0.dim = [3, 1 << 40, 1 << 40, 4, 1, 1, 1, 1]; $0.values = [] }.write(to: dir + "/a2.nii")
        expectReadError(.tooLarge, p2, headerToo: false, mentions: "overflow")
        // 1 GB claimed by a tiny .nii.gz: the gzip trailer shows the data are not there.
        let p3 = try good { $0.dim = [3, 1000, 1000, 1000, 1, 1, 1, 1]; $0.datatypeCode = 2; $0.values = [] }.write(to: dir + "/a3.nii.gz")
        expectReadError(.truncated, p3, headerToo: false, mentions: "decompressed data")
        // The same for .nii: file size.
        let p4 = try good { $0.dim = [3, 1000, 1000, 1000, 1, 1, 1, 1]; $0.datatypeCode = 2; $0.values = [] }.write(to: dir + "/a4.nii")
        expectReadError(.truncated, p4, headerToo: false)
    }

    @Test("the caller's memory limit")
    func memoryLimit() throws {
        let path = try good { $0.datatypeCode = 64 }.write(to: dir + "/l.nii")   // 192 voxels float64
        // 192 · 8 = 1536 stored bytes > 1000 even though the Float32 copy needs 768.
        expectReadError(.tooLarge, path, options: .init(maxVoxelBytes: 1000), headerToo: false, mentions: "limit")
        #expect(try NIfTIReader.read(path, options: .init(maxVoxelBytes: 1536)).voxels.count == 192)
    }

    @Test func unsupportedDatatype() throws {
        for (code, name) in [(Int16(32), "complex64 (code 32)"), (1024, "int64 (code 1024)"), (128, "rgb24 (code 128)"), (999, "unknown datatype code 999")] {
            let path = try good { $0.datatypeCode = code }.write(to: dir + "/t\(code).nii")
            expectReadError(.unsupportedDatatype, path, mentions: name)
        }
    }

    @Test func voxOffset() throws {
        // Past the end of the file.
        let header = Array(good { $0.voxOffset = 100_000 }.bytes().prefix(352))
        try NIfTIFileBuilder.writeBytes(header, to: dir + "/o1.nii")
        expectReadError(.badVoxOffset, dir + "/o1.nii", mentions: "past the end")
        try NIfTIFileBuilder.writeBytes(header, to: dir + "/o1.nii.gz")
        expectReadError(.badVoxOffset, dir + "/o1.nii.gz", mentions: "past the end")
        // Inside the header.
        let p2 = try good { $0.voxOffset = 100 }.write(to: dir + "/o2.nii")
        expectReadError(.badVoxOffset, p2, mentions: "inside the header")
        // Not a whole number of bytes (NIfTI-1 stores it as a float).
        let p3 = try good { $0.voxOffset = 352.5 }.write(to: dir + "/o3.nii")
        expectReadError(.badVoxOffset, p3)
        let p4 = try good { $0.version = 2; $0.voxOffset = 400 }.write(to: dir + "/o4.nii")
        expectReadError(.badVoxOffset, p4, mentions: "544")
    }

    @Test("NaN/Inf voxels are rejected with their count (float32 and float64, and after scaling)")
    func nonFinite() throws {
        var values = (0..<192).map(Double.init)
        values[5] = .nan; values[6] = .infinity
        let p1 = try good { $0.values = values }.write(to: dir + "/n1.nii")
        expectReadError(.nonFiniteVoxels, p1, headerToo: false, mentions: "2 of 192")
        let p2 = try good { $0.values = values; $0.datatypeCode = 64; $0.version = 2 }.write(to: dir + "/n2.nii.gz")
        expectReadError(.nonFiniteVoxels, p2, headerToo: false, mentions: "2 of 192")
        // float64 values beyond Float32's range become infinite when converted.
        let p3 = try good { $0.values = [1e300] + Array(repeating: 0, count: 191); $0.datatypeCode = 64 }.write(to: dir + "/n3.nii")
        expectReadError(.nonFiniteVoxels, p3, headerToo: false, mentions: "1 of 192")
        #expect(try NIfTIReader.read(p1, options: .init(nonFinite: .replaceWithZero)).nonFiniteReplaced == 2)
    }

    @Test func singularGeometry() throws {
        let p1 = try good { $0.sformCode = 2; $0.srow = [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0] }.write(to: dir + "/g1.nii")
        expectReadError(.singularGeometry, p1, mentions: "sform")
        let p2 = try good { $0.sformCode = 2; $0.srow = [1, 0, 0, .nan, 0, 1, 0, 0, 0, 0, 1, 0] }.write(to: dir + "/g2.nii")
        expectReadError(.singularGeometry, p2)
        let p3 = try good { $0.pixdim = [1, 1, 0, 1, 1, 1, 1, 1] }.write(to: dir + "/g3.nii")
        expectReadError(.singularGeometry, p3, mentions: "pixdim")
    }

    @Test func frameOutOfRange() throws {
        let path = try good { $0.dim = [4, 2, 2, 2, 3, 1, 1, 1] }.write(to: dir + "/f.nii")
        for frame in [-1, 3] {
            #expect {
                _ = try NIfTIReader.readVolume(path, frame: frame)
            } throws: { e in
                (e as? NIfTIError)?.kind == .frameOutOfRange && "\(e)".hasPrefix(path)
            }
        }
        #expect(try NIfTIReader.readVolume(path, frame: 2).voxels.first == 16)
    }

    /// What libnifti does by itself with the same files (`nifti_image_read(path, 1)`, debug
    /// level 0): it returns NULL without exiting — although for datatype 999 it still prints
    /// "** ERROR: nifti_convert_n1hdr2nim: bad datatype" to stderr (our probe rejects that
    /// file before libnifti sees it) — it reads a header without magic as Analyze 7.5, and it
    /// zeroes NaN voxels.
    @Test("libnifti alone returns NULL on bad files (and silently zeroes NaN)")
    func libniftiBehaviour() throws {
        let bytes = good().bytes()
        var bad: [String: [UInt8]] = [:]
        bad["trunc-header.nii"] = Array(bytes.prefix(200))
        bad["trunc-data.nii"] = Array(bytes.dropLast(10))
        bad["zero-dim.nii"] = good { $0.dim = [3, 8, 0, 4, 1, 1, 1, 1]; $0.values = [] }.bytes()
        bad["neg-dim.nii"] = good { $0.dim = [3, 8, -6, 4, 1, 1, 1, 1]; $0.values = [] }.bytes()
        bad["dtype999.nii"] = good { $0.datatypeCode = 999 }.bytes()
        bad["offset.nii"] = Array(good { $0.voxOffset = 100_000 }.bytes().prefix(352))
        for (name, b) in bad {
            try NIfTIFileBuilder.writeBytes(b, to: dir + "/lib-" + name)
            #expect(NIfTIHandle.libniftiReadAll(dir + "/lib-" + name, count: 1) == nil, "\(name)")
        }
        // A 348-byte header without the NIfTI magic is read as Analyze 7.5 (not NULL).
        let magicPath = try good { $0.magicOverride = Array("abc\0".utf8) }.write(to: dir + "/lib-magic.nii")
        #expect(NIfTIHandle.libniftiReadAll(magicPath, count: 1) != nil, "libnifti reads a non-NIfTI 348-byte header as Analyze")
        var gz = try NIfTIFileBuilder.gzipped(good { $0.values = (0..<192).map { Double($0 % 7) } }.bytes())
        for n in gz.count / 2..<(gz.count / 2 + 8) { gz[n] ^= 0x5a }
        try NIfTIFileBuilder.writeBytes(gz, to: dir + "/lib-corrupt.nii.gz", gzip: false)
        _ = NIfTIHandle.libniftiReadAll(dir + "/lib-corrupt.nii.gz", count: 1)   // must not crash or exit
        var values = (0..<192).map(Double.init)
        values[5] = .nan
        let nanPath = try good { $0.values = values }.write(to: dir + "/lib-nan.nii")
        #expect(NIfTIHandle.libniftiReadAll(nanPath, count: 6)?[5] == 0, "libnifti replaces NaN with 0")
    }
}
