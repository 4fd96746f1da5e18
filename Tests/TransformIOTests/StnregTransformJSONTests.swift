import Foundation
import Testing
import TestSupport
import TransformIO
import VolumeCore

/// stnreg's transform JSON as a ``TransformFormat``: the one reader (apply, audit export, tests).
@Suite struct StnregTransformJSONTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/audit-v1").path

    /// A transform JSON written by an older align reads (detected by its marker) to the matrix of
    /// the ITK file the same run wrote.
    @Test func anOlderAlignsFileReadsAsItsITKTwin() throws {
        let json = Self.fixtures + "/colin_transform.json"
        let data = try #require(FileManager.default.contents(atPath: json))
        #expect(try TransformFormat.detect(data, file: json) == .stnreg)
        let t = try TransformFile.read(path: json)
        let itk = try TransformFile.read(path: Self.fixtures + "/colin_itk.tfm")
        #expect(Affine.maxAbsDifference(t, itk) < Tolerance.transformFileRoundTrip)
        #expect(t.rowMajor4x4[3] == 0.4128298186782452)   // the file's first row, last column, bit for bit
        #expect(try TransformFile.read(path: json, format: .stnreg) == t)
    }

    @Test func errorsNameTheKeyAndThePlace() {
        expectTransformError("t.json: key 'version': this stnreg reads version 1") {
            try TransformFile.decode(Data(#"{"format": "stnreg-transform", "version": 2}"#.utf8), file: "t.json")
        }
        expectTransformError("t.json: key 'format': expected \"stnreg-transform\" (is this a stnreg transform file?)") {
            try TransformFile.decode(Data(#"{"atlasToScan": []}"#.utf8), format: .stnreg, file: "t.json")
        }
        expectTransformError("t.json: key 'atlasToScan': the last row must be 0 0 0 1") {
            try TransformFile.decode(Data(#"{"format": "stnreg-transform", "version": 1, "atlasToScan": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,1,1]]}"#.utf8), file: "t.json")
        }
        expectTransformError("log.jsonl: line 4: key 'atlasToScan' row 1: expected 4 numbers") {
            try StnregTransformJSON.matrix([[1, 0, 0, 0], [0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]], file: "log.jsonl", place: "line 4")
        }
        expectTransformError("t.json: not valid JSON (unexpected end of text inside an object at line 1, column 2)") {
            try TransformFile.decode(Data("{".utf8), format: .stnreg, file: "t.json")
        }
    }

    @Test func theWrittenFileHoldsTheTransformPartOnly() throws {
        let t = Decomposition(translation: SIMD3(1, -2, 3), rotationDegrees: SIMD3(5, 0, -7)).affine
        let text = String(decoding: try TransformFile.encode(t, format: .stnreg), as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"atlasToScan\" : ["))
        #expect(text.contains("\"format\" : \"stnreg-transform\""))
        #expect(text.contains("\"scanToAtlas\""))
        #expect(try TransformFile.decode(Data(text.utf8)) == t)
    }
}
