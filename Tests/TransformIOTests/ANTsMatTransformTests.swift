import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import TransformIO

@Suite struct ANTsMatTransformTests {
    @Test func roundTripOverRandomAffines() throws {
        var rng = SeededGenerator(seed: 202)
        for n in 0..<200 {
            let t = KnownTransforms.random(&rng, maxDegrees: 60, maxTranslation: 50)
            let centre = n % 2 == 0 ? SIMD3<Double>.zero : SIMD3(rng.uniform(-80, 80), rng.uniform(-80, 80), rng.uniform(-80, 80))
            let back = try ANTsMatTransform.decode(ANTsMatTransform.encode(t, centreRAS: centre), file: "x.mat")
            #expect(relativeDifference(back, t) < Tolerance.transformFileRoundTrip, "case \(n)")
            let backFloat = try ANTsMatTransform.decode(ANTsMatTransform.encode(t, centreRAS: centre, precision: .float), file: "x.mat")
            #expect(relativeDifference(backFloat, t) < Tolerance.float32StoredEntry, "float case \(n)")
        }
    }

    /// The byte layout antsRegistration writes, for atlasToScan = +5 mm along R.
    @Test func byteLayoutOfAPureTranslation() throws {
        let data = [UInt8](ANTsMatTransform.encode(.translation(SIMD3(5, 0, 0))))
        let name1 = "AffineTransform_double_3_3"
        #expect(data.count == 20 + name1.count + 1 + 12 * 8 + 20 + 6 + 3 * 8)
        func int32(_ at: Int) -> Int32 { data[at..<at + 4].reversed().reduce(0) { $0 << 8 | Int32($1) } }
        func double(_ at: Int) -> Double {
            Double(bitPattern: data[at..<at + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
        // type 0 (little-endian, float64, numeric), 12 rows, 1 column, real, name length with NUL.
        #expect([int32(0), int32(4), int32(8), int32(12), int32(16)] == [0, 12, 1, 0, 27])
        #expect(String(decoding: data[20..<46], as: UTF8.self) == name1 && data[46] == 0)
        let params = (0..<12).map { double(47 + 8 * $0) }
        #expect(params == [1, 0, 0, 0, 1, 0, 0, 0, 1, -5, 0, 0])
        let second = 47 + 96
        #expect([int32(second), int32(second + 4), int32(second + 8), int32(second + 12), int32(second + 16)] == [0, 3, 1, 0, 6])
        #expect(String(decoding: data[second + 20..<second + 25], as: UTF8.self) == "fixed")
        #expect((0..<3).map { double(second + 26 + 8 * $0) } == [0, 0, 0])
    }

    @Test func floatVariantHasFloat32Payload() throws {
        let data = [UInt8](ANTsMatTransform.encode(.identity, precision: .float))
        #expect(data[0] == 10)   // type code 10 = float32
        #expect(data.count == 20 + 26 + 12 * 4 + 20 + 6 + 3 * 4)
        #expect(try ANTsMatTransform.decode(Data(data), file: "f.mat") == .identity)
    }

    /// A big-endian file (type code 1000) reads the same.
    @Test func readsBigEndianFiles() throws {
        let t = Affine(rowMajor3x4: [1.1, 0.1, 0, 3, 0, 0.9, 0.2, -4, 0.05, 0, 1, 7])
        let p = ITKAffineParameters(atlasToScan: t, centreRAS: SIMD3(3, 4, 5))
        var d = Data()
        func int32(_ v: Int32) { withUnsafeBytes(of: v.bigEndian) { d.append(contentsOf: $0) } }
        for (name, values) in [("AffineTransform_double_3_3", p.parameters), ("fixed", p.fixedParameters)] {
            int32(1000); int32(Int32(values.count)); int32(1); int32(0); int32(Int32(name.utf8.count + 1))
            d.append(contentsOf: Array(name.utf8) + [0])
            for v in values { withUnsafeBytes(of: v.bitPattern.bigEndian) { d.append(contentsOf: $0) } }
        }
        #expect(relativeDifference(try ANTsMatTransform.decode(d, file: "be.mat"), t) < Tolerance.transformFileRoundTrip)
    }

    static func variable(_ name: String, _ values: [Double], typeCode: Int32 = 0, imag: Int32 = 0) -> Data {
        var d = Data()
        func int32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        int32(typeCode); int32(Int32(values.count)); int32(1); int32(imag); int32(Int32(name.utf8.count + 1))
        d.append(contentsOf: Array(name.utf8) + [0])
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    static let identityParameters: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]

    @Test func malformedInputIsAClearError() {
        let good = ANTsMatTransform.encode(.identity)
        expectTransformError("x.mat: the file is empty; write the transform again") {
            try ANTsMatTransform.decode(Data(), file: "x.mat")
        }
        expectTransformError("x.mat: byte 0: truncated header of variable 1 (10 of 20 bytes); the file is truncated; write it again") {
            try ANTsMatTransform.decode(good.prefix(10), file: "x.mat")
        }
        expectTransformError("x.mat: variable AffineTransform_double_3_3: needs 96 bytes of data from byte 47, the file ends after 53; the file is truncated; write it again") {
            try ANTsMatTransform.decode(good.prefix(100), file: "x.mat")
        }
        expectTransformError("x.mat: no variable 'fixed' (the centre of rotation); the file is truncated or damaged; write it again") {
            try ANTsMatTransform.decode(good.prefix(47 + 96), file: "x.mat")
        }
        expectTransformError("x.mat: byte 0: unknown transform type 'Euler3DTransform_double_3_3'; stnreg reads AffineTransform_{double,float}_3_3 and MatrixOffsetTransformBase_{double,float}_3_3; convert other transforms to an affine first (e.g. with SimpleITK)") {
            try ANTsMatTransform.decode(Self.variable("Euler3DTransform_double_3_3", [0, 0, 0, 0, 0, 0]) + Self.variable("fixed", [0, 0, 0]), file: "x.mat")
        }
        expectTransformError("x.mat: variable AffineTransform_double_3_3: expected 12 numbers, found 9 (9 × 1); the file is damaged or not an ANTs affine") {
            try ANTsMatTransform.decode(Self.variable("AffineTransform_double_3_3", Array(repeating: 1, count: 9)) + Self.variable("fixed", [0, 0, 0]), file: "x.mat")
        }
        expectTransformError("x.mat: variable AffineTransform_double_3_3: number 10 is not finite (nan); the transform that produced this file failed; register again") {
            var p = Self.identityParameters; p[9] = .nan
            return try ANTsMatTransform.decode(Self.variable("AffineTransform_double_3_3", p) + Self.variable("fixed", [0, 0, 0]), file: "x.mat")
        }
        expectTransformError("x.mat: variable AffineTransform_double_3_3: the matrix is singular (determinant 0); a registration transform must be invertible; the file is damaged or the registration failed") {
            var p = Self.identityParameters; p[4] = 0
            return try ANTsMatTransform.decode(Self.variable("AffineTransform_double_3_3", p) + Self.variable("fixed", [0, 0, 0]), file: "x.mat")
        }
        expectTransformError("x.mat: byte 12: variable 1 is complex; a transform is real; the file is damaged or not an ITK/ANTs .mat transform") {
            try ANTsMatTransform.decode(Self.variable("AffineTransform_double_3_3", Self.identityParameters, imag: 1), file: "x.mat")
        }
        expectTransformError("x.mat: byte 0: variable 1 has precision code 2; only float64 (0) and float32 (1) are read; the file is damaged or not an ITK/ANTs .mat transform") {
            try ANTsMatTransform.decode(Self.variable("AffineTransform_double_3_3", Self.identityParameters, typeCode: 20), file: "x.mat")
        }
        expectTransformError("x.mat: byte 0: not a MATLAB v4 variable header (type code 1936607523); the file is damaged or not an ITK/ANTs .mat transform") {
            try ANTsMatTransform.decode(Data("#Insight Transform File V1.0\n".utf8), file: "x.mat")
        }
    }

    @Test func everyTruncationAndByteFlipIsAnErrorNotACrash() {
        let data = ANTsMatTransform.encode(.translation(SIMD3(1, 2, 3)), centreRAS: SIMD3(4, 5, 6))
        for n in 0..<data.count {
            do {
                _ = try ANTsMatTransform.decode(data.prefix(n), file: "t.mat")
                Issue.record("a file truncated to \(n) bytes was accepted")
            } catch is TransformFileError {} catch { Issue.record("prefix \(n): unexpected error \(error)") }
        }
        var rng = SeededGenerator(seed: 3)
        for n in 0..<2000 {
            var bytes = [UInt8](data)
            for _ in 0..<3 { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            expectReturnsOrFileError("flip \(n)") { try ANTsMatTransform.decode(Data(bytes), file: "t.mat") }
        }
    }
}
