import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import TransformIO

@Suite struct TransformFormatTests {
    /// Every format through the file API, the format detected from content and extension.
    @Test(arguments: TransformFormat.allCases)
    func writeThenReadWithDetection(format: TransformFormat) throws {
        let dir = makeTemporaryDirectory("stnreg-tio")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SeededGenerator(seed: 606)
        for n in 0..<20 {
            let t = KnownTransforms.random(&rng)
            let atlas = TestGrids.random(&rng), scan = TestGrids.random(&rng)
            let path = dir + "/t\(n).\(format.fileExtension)"
            try TransformFile.write(t, format: format, to: path, atlasGrid: atlas, scanGrid: scan)
            let data = try #require(FileManager.default.contents(atPath: path))
            #expect(try TransformFormat.detect(data, file: path) == format)
            let back = try TransformFile.read(path: path, atlasGrid: atlas, scanGrid: scan)
            #expect(relativeDifference(back, t) < Tolerance.transformFileThroughGrids)
        }
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == 20)
    }

    @Test func itkTextIsAlsoRecognisedAsTxt() throws {
        let data = Data(ITKTextTransform.encode(.translation(SIMD3(1, 0, 0))).utf8)
        #expect(try TransformFormat.detect(data, file: "a/b/affine.txt") == .itkText)
        #expect(try TransformFile.decode(data, file: "affine.txt") == .translation(SIMD3(1, 0, 0)))
    }

    @Test func detectionErrors() {
        expectTransformError("x.xfm: a plain 4×4 matrix could be FSL or NiftyReg; name the format (fsl: FLIRT .mat, scaled voxels; niftyReg: reg_aladin, RAS)") {
            try TransformFormat.detect(Data("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n".utf8), file: "x.xfm")
        }
        expectTransformError("x.mat: the file is empty; write the transform again") {
            try TransformFormat.detect(Data(), file: "x.mat")
        }
        expectTransformError("x.json: line 1: not a transform format stnreg knows; stnreg reads ITK text (.tfm/.txt), ANTs .mat, FSL .mat, NiftyReg .txt and FreeSurfer .lta") {
            try TransformFormat.detect(Data("{\"atlasToScan\": []}".utf8), file: "x.json")
        }
        expectTransformError("x.mat: this looks like an FSL matrix; FSL needs --scan-header and --atlas-header; its coordinates depend on both images' grids: pass the scan and atlas images") {
            try TransformFile.decode(Data("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n".utf8), file: "x.mat")
        }
    }

    @Test func writeErrors() throws {
        let dir = makeTemporaryDirectory("stnreg-tio")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        expectTransformError("\(dir)/x.lta: an LTA matrix cannot be written without the atlas image grid; pass the scan and atlas images") {
            try TransformFile.write(.identity, format: .lta, to: dir + "/x.lta", scanGrid: TestGrids.las)
        }
        expectTransformError("\(dir)/x.mat: an FSL matrix cannot be written without the atlas and scan image grid; pass the scan and atlas images") {
            try TransformFile.write(.identity, format: .fsl, to: dir + "/x.mat")
        }
        expectTransformError("\(dir)/x.tfm: the matrix is singular (determinant 0); a registration transform must be invertible; the file is damaged or the registration failed") {
            try TransformFile.write(.scaling(SIMD3(1, 0, 1)), format: .itkText, to: dir + "/x.tfm")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        // An input is never overwritten.
        let input = dir + "/scan.nii"
        _ = FileManager.default.createFile(atPath: input, contents: Data([1, 2, 3]))
        #expect(throws: AtomicFile.WriteError.self) {
            try TransformFile.write(.identity, format: .niftyReg, to: input, protectedInputs: [input])
        }
        #expect(FileManager.default.contents(atPath: input) == Data([1, 2, 3]))
    }

    @Test func readingAMissingFile() {
        expectTransformError("/nonexistent/t.tfm: no such file; check the path") {
            try TransformFile.read(path: "/nonexistent/t.tfm")
        }
    }

    @Test func damagedFilesNeverCrash() {
        var rng = SeededGenerator(seed: 607)
        let atlas = TestGrids.obliqueLAS, scan = TestGrids.lps
        for format in TransformFormat.allCases {
            let good = [UInt8](try! TransformFile.encode(KnownTransforms.random(&rng), format: format, atlasGrid: atlas, scanGrid: scan))
            for n in 0..<500 {
                var bytes = good
                for _ in 0..<(1 + n % 4) {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    // Text formats: mostly plausible characters; binary: any byte.
                    let alphabet = Array("0123456789.-e nan#:=\n".utf8)
                    bytes[at] = format == .antsMat ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
                expectReturnsOrFileError("\(format) \(n)") {
                    try TransformFile.decode(Data(bytes), format: format, atlasGrid: atlas, scanGrid: scan, file: "d")
                }
                expectReturnsOrFileError("\(format) \(n) detect") {
                    try TransformFile.decode(Data(bytes), atlasGrid: atlas, scanGrid: scan, file: "d.\(format.fileExtension)")
                }
            }
        }
    }
}
