import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import TransformIO

@Suite struct ITKTextTransformTests {
    @Test func roundTripOverRandomAffinesAndCentres() throws {
        var rng = SeededGenerator(seed: 101)
        for n in 0..<200 {
            let t = KnownTransforms.random(&rng, maxDegrees: 60, maxTranslation: 50)
            let centre = n % 2 == 0 ? SIMD3<Double>.zero
                : SIMD3(rng.uniform(-80, 80), rng.uniform(-80, 80), rng.uniform(-80, 80))
            let back = try ITKTextTransform.decode(ITKTextTransform.encode(t, centreRAS: centre), file: "x.tfm")
            #expect(relativeDifference(back, t) < Tolerance.transformFileRoundTrip, "case \(n)")
        }
    }

    /// atlasToScan = +5 mm along R: in LPS that is −5 mm along L (x), +0 in y and z.
    @Test func pureTranslationIsNegatedInLPSx() {
        let text = ITKTextTransform.encode(.translation(SIMD3(5, 7, -3)))
        #expect(text == """
            #Insight Transform File V1.0
            #Transform 0
            Transform: AffineTransform_double_3_3
            Parameters: 1 0 0 0 1 0 0 0 1 -5 -7 -3
            FixedParameters: 0 0 0

            """)
    }

    /// A rotation's off-diagonal entries that mix x or y with z change sign in LPS.
    @Test func matrixIsConjugatedByLPS() throws {
        let t = Affine(rowMajor3x4: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13])
        let p = ITKAffineParameters(atlasToScan: t)
        #expect(p.parameters == [1, 2, -3, 5, 6, -7, -9, -10, 11, -4, -8, 13])
        #expect(p.fixedParameters == [0, 0, 0])
    }

    /// A file with a centre: y = M(x − c) + c + t, checked on points by hand.
    @Test func readsANonZeroCentre() throws {
        // LPS: M = 90° about z (x→y), c = (10, 0, 0), t = (1, 2, 3).
        let text = """
            #Insight Transform File V1.0
            #Transform 0
            Transform: MatrixOffsetTransformBase_double_3_3
            Parameters: 0 -1 0 1 0 0 0 0 1 1 2 3
            FixedParameters: 10 0 0
            """
        let t = try ITKTextTransform.decode(text, file: "c.tfm")
        // The LPS point c maps to c + t = (11, 2, 3); in RAS: (-10, 0, 0) → (-11, -2, 3).
        let y = t.apply(SIMD3(-10, 0, 0))
        #expect(length(y - SIMD3(-11, -2, 3)) < Tolerance.float64FewOperations)
        // LPS (11, 0, 0) = c + (1, 0, 0) → M·(1,0,0) + c + t = (0,1,0) + (11, 2, 3) = (11, 3, 3).
        let z = t.apply(SIMD3(-11, 0, 0))
        #expect(length(z - SIMD3(-11, -3, 3)) < Tolerance.float64FewOperations)
    }

    @Test(arguments: ["AffineTransform_float_3_3", "MatrixOffsetTransformBase_float_3_3", "AffineTransform_double_3_3"])
    func readsTheAffineVariants(type: String) throws {
        let text = ITKTextTransform.encode(.translation(SIMD3(1, 2, 3)))
            .replacingOccurrences(of: "AffineTransform_double_3_3", with: type)
        #expect(try ITKTextTransform.decode(text, file: "v.txt") == .translation(SIMD3(1, 2, 3)))
    }

    /// ANTs text output: a composite wrapper holding one affine.
    @Test func readsACompositeWithOneAffine() throws {
        let text = """
            #Insight Transform File V1.0
            #Transform 0
            Transform: CompositeTransform_double_3_3
            #Transform 1
            Transform: AffineTransform_double_3_3
            Parameters: 1 0 0 0 1 0 0 0 1 -5 0 0
            FixedParameters: 0 0 0
            """
        #expect(try ITKTextTransform.decode(text, file: "a.txt") == .translation(SIMD3(5, 0, 0)))
    }

    static let good = ITKTextTransform.encode(.identity).split(separator: "\n").map(String.init)

    static func replacing(_ line: Int, with text: String) -> String {
        var l = good; l[line] = text; return l.joined(separator: "\n")
    }

    @Test func malformedInputIsAClearError() {
        expectTransformError("x.tfm: line 1: does not start with '#Insight Transform File V1.0'; this is not an ITK text transform; check the format") {
            try ITKTextTransform.decode("1 0 0 0\n", file: "x.tfm")
        }
        expectTransformError("x.tfm: line 3: unknown transform type 'Euler3DTransform_double_3_3'; stnreg reads AffineTransform_{double,float}_3_3 and MatrixOffsetTransformBase_{double,float}_3_3; convert other transforms to an affine first (e.g. with SimpleITK)") {
            try ITKTextTransform.decode(Self.replacing(2, with: "Transform: Euler3DTransform_double_3_3"), file: "x.tfm")
        }
        expectTransformError("x.tfm: line 4: expected 12 numbers, found 11; Parameters holds 9 matrix entries then 3 translations") {
            try ITKTextTransform.decode(Self.replacing(3, with: "Parameters: 1 0 0 0 1 0 0 0 1 0 0"), file: "x.tfm")
        }
        expectTransformError("x.tfm: line 4: number 10 is not finite (nan); the transform that produced this file failed; register again") {
            try ITKTextTransform.decode(Self.replacing(3, with: "Parameters: 1 0 0 0 1 0 0 0 1 nan 0 0"), file: "x.tfm")
        }
        expectTransformError("x.tfm: line 4: 'abc' is not a number; the file is damaged or not in the format expected") {
            try ITKTextTransform.decode(Self.replacing(3, with: "Parameters: 1 0 0 0 1 0 0 0 1 abc 0 0"), file: "x.tfm")
        }
        expectTransformError("x.tfm: line 5: expected 3 numbers, found 2; FixedParameters holds the 3 coordinates of the centre of rotation") {
            try ITKTextTransform.decode(Self.replacing(4, with: "FixedParameters: 0 0"), file: "x.tfm")
        }
        expectTransformError("x.tfm: line 4: no 'FixedParameters:' line (the centre of rotation); the file is damaged") {
            try ITKTextTransform.decode(Self.good.prefix(4).joined(separator: "\n"), file: "x.tfm")
        }
        expectTransformError("x.tfm: line 4: the matrix is singular (determinant 0); a registration transform must be invertible; the file is damaged or the registration failed") {
            try ITKTextTransform.decode(Self.replacing(3, with: "Parameters: 1 0 0 0 0 0 0 0 1 0 0 0"), file: "x.tfm")
        }
        expectTransformError("x.tfm: contains 2 transforms, expected exactly one affine; compose them into one affine first (e.g. antsApplyTransforms -t ... -o Linear[out.mat])") {
            try ITKTextTransform.decode(Self.good.joined(separator: "\n") + "\n" + Self.good.dropFirst().joined(separator: "\n"), file: "x.tfm")
        }
        expectTransformError("x.tfm: contains 0 transforms, expected exactly one affine; the file is empty or damaged") {
            try ITKTextTransform.decode("#Insight Transform File V1.0\n", file: "x.tfm")
        }
    }

    @Test func everyTruncationIsAnErrorNotACrash() {
        var rng = SeededGenerator(seed: 7)
        let text = ITKTextTransform.encode(KnownTransforms.random(&rng), centreRAS: SIMD3(1, 2, 3))
        for n in 0..<text.count {
            expectReturnsOrFileError("prefix \(n)") { try ITKTextTransform.decode(String(text.prefix(n)), file: "t.tfm") }
        }
    }
}
