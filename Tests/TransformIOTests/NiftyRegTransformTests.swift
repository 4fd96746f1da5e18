import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import TransformIO

@Suite struct NiftyRegTransformTests {
    @Test func roundTripOverRandomAffines() throws {
        var rng = SeededGenerator(seed: 404)
        for n in 0..<200 {
            let t = KnownTransforms.random(&rng, maxDegrees: 60, maxTranslation: 50)
            #expect(try NiftyRegTransform.decode(NiftyRegTransform.encode(t), file: "x.txt") == t, "case \(n)")
        }
    }

    /// NiftyReg's matrix is atlasToScan itself (RAS, reference → floating).
    @Test func matrixIsAtlasToScanVerbatim() {
        let t = Affine(rowMajor3x4: [1, 0.5, 0, 5, 0, 2, 0, -7.25, 0, 0, 1, 0])
        #expect(NiftyRegTransform.encode(t) == "1 0.5 0 5\n0 2 0 -7.25\n0 0 1 0\n0 0 0 1\n")
    }

    @Test func malformedInputIsAClearError() {
        expectTransformError("aff.txt: line 1: expected 4 numbers, found 5; a NiftyReg matrix has 4 rows of 4 numbers") {
            try NiftyRegTransform.decode("1 0 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n", file: "aff.txt")
        }
        expectTransformError("aff.txt: line 3: 'x' is not a number; the file is damaged or not in the format expected") {
            try NiftyRegTransform.decode("1 0 0 0\n0 1 0 0\nx 0 1 0\n0 0 0 1\n", file: "aff.txt")
        }
        expectTransformError("aff.txt: line 1: number 4 is not finite (inf); the transform that produced this file failed; register again") {
            try NiftyRegTransform.decode("1 0 0 inf\n0 1 0 0\n0 0 1 0\n0 0 0 1\n", file: "aff.txt")
        }
        expectTransformError("aff.txt: end of file: expected 4 rows of 4 numbers, found 0; a NiftyReg matrix has 4 rows of 4 numbers") {
            try NiftyRegTransform.decode("", file: "aff.txt")
        }
    }
}
