import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import TransformIO

@Suite struct LTATransformTests {
    @Test func roundTripOverRandomAffinesAndGrids() throws {
        var rng = SeededGenerator(seed: 505)
        for n in 0..<200 {
            let t = KnownTransforms.random(&rng, maxDegrees: 60, maxTranslation: 40)
            let atlas = n < 25 ? TestGrids.named[n % 5].1 : TestGrids.random(&rng)
            let scan = n < 25 ? TestGrids.named[n / 5].1 : TestGrids.random(&rng)
            let text = try LTATransform.encode(t, atlasGrid: atlas, scanGrid: scan, atlasName: "atlas.nii.gz", scanName: "scan.nii")
            #expect(relativeDifference(try LTATransform.decode(text, file: "x.lta"), t) < Tolerance.transformFileRoundTrip, "case \(n)")
        }
    }

    /// atlasToScan = +5 mm along R: the LTA maps scan → atlas, so its translation is −5; the
    /// volume blocks give FreeSurfer's centre (voxel dims/2) and the unit axes.
    @Test func goldenTextForATranslation() throws {
        let g = Grid(dims: SIMD3(20, 22, 18), spacingMM: .one, origin: SIMD3(-10, -11, -9))
        let scan = Grid(dims: SIMD3(10, 10, 10), voxelToWorld: Affine(linear: .diagonal(SIMD3(-2, 2, 2.5)), translation: SIMD3(10, 0, 0)))
        let text = try LTATransform.encode(.translation(SIMD3(5, 0, 0)), atlasGrid: g, scanGrid: scan,
                                           atlasName: "atlas.nii.gz", scanName: "my scan.nii")
        #expect(text == """
            # LTA file written by stnreg: source = scan, destination = atlas;
            # the matrix maps scan RAS to atlas RAS (the inverse of atlasToScan).
            type      = 1 # LINEAR_RAS_TO_RAS
            nxforms   = 1
            mean      = 0.0000 0.0000 0.0000
            sigma     = 1.0000
            1 4 4
            1 0 0 -5
            0 1 0 0
            0 0 1 0
            0 0 0 1
            src volume info
            valid = 1  # volume info valid
            filename = my_scan.nii
            volume = 10 10 10
            voxelsize = 2 2 2.5
            xras   = -1 0 0
            yras   = 0 1 0
            zras   = 0 0 1
            cras   = 0 10 12.5
            dst volume info
            valid = 1  # volume info valid
            filename = atlas.nii.gz
            volume = 20 22 18
            voxelsize = 1 1 1
            xras   = 1 0 0
            yras   = 0 1 0
            zras   = 0 0 1
            cras   = 0 0 0

            """)
    }

    /// LINEAR_VOX_TO_VOX through the file's own volume blocks: RAS = V_dst · M · V_src⁻¹.
    @Test func readsVoxToVox() throws {
        var rng = SeededGenerator(seed: 506)
        let t = KnownTransforms.random(&rng)
        let atlas = TestGrids.obliqueLAS, scan = TestGrids.anisotropic
        let ras = try LTATransform.encode(t, atlasGrid: atlas, scanGrid: scan)
        // vox2vox = V_dst⁻¹ · scanToAtlas · V_src with src = scan, dst = atlas.
        let vox = atlas.worldToVoxel * t.inverse! * scan.voxelToWorld
        var lines = ras.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[2] = "type      = 0 # LINEAR_VOX_TO_VOX"
        let rows = TextParsing.rows4x4(vox).split(separator: "\n").map(String.init)
        lines.replaceSubrange(7..<11, with: rows)
        let back = try LTATransform.decode(lines.joined(separator: "\n"), file: "v.lta")
        #expect(relativeDifference(back, t) < Tolerance.transformFileComposed)
    }

    static let good = try! LTATransform.encode(.identity, atlasGrid: TestGrids.ras1mm, scanGrid: TestGrids.las)
        .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)

    static func replacing(_ line: Int, with text: String) -> String {
        var l = good; l[line] = text; return l.joined(separator: "\n")
    }

    @Test func malformedInputIsAClearError() {
        expectTransformError("x.lta: line 3: transform type 14 is not supported; stnreg reads LINEAR_RAS_TO_RAS (1) and LINEAR_VOX_TO_VOX (0); convert it with FreeSurfer's lta_convert --outlta (RAS to RAS)") {
            try LTATransform.decode(Self.replacing(2, with: "type      = 14 # REGISTER_DAT"), file: "x.lta")
        }
        expectTransformError("x.lta: line 4: nxforms = 2; expected 1; stnreg reads one transform per LTA file; split the array first") {
            try LTATransform.decode(Self.replacing(3, with: "nxforms   = 2"), file: "x.lta")
        }
        expectTransformError("x.lta: line 9: expected 4 numbers, found 3; an LTA matrix has 4 rows of 4 numbers") {
            try LTATransform.decode(Self.replacing(8, with: "0 1 0"), file: "x.lta")
        }
        expectTransformError("x.lta: line 7: expected '1 4 4' before the matrix, found '1 3 3'; the file is damaged or not an LTA") {
            try LTATransform.decode(Self.replacing(6, with: "1 3 3"), file: "x.lta")
        }
        expectTransformError("x.lta: line 10: number 3 is not finite (nan); the transform that produced this file failed; register again") {
            try LTATransform.decode(Self.replacing(9, with: "0 0 nan 0"), file: "x.lta")
        }
        expectTransformError("x.lta: end of file: the 4×4 matrix is incomplete; the file is truncated; write it again") {
            try LTATransform.decode(Self.good.prefix(9).joined(separator: "\n"), file: "x.lta")
        }
        expectTransformError("x.lta: no 'type =' line; this is not an LTA file") {
            try LTATransform.decode(Self.replacing(2, with: ""), file: "x.lta")
        }
        expectTransformError("x.lta: the matrix is singular (determinant 0); a registration transform must be invertible; the file is damaged or the registration failed") {
            try LTATransform.decode(Self.replacing(8, with: "0 0 0 0"), file: "x.lta")
        }
        let vox = Self.replacing(2, with: "type = 0")
        expectTransformError("x.lta: line 13: the src volume info is not valid; a LINEAR_VOX_TO_VOX transform needs it; convert the file to LINEAR_RAS_TO_RAS with lta_convert") {
            try LTATransform.decode(vox.replacingOccurrences(of: "valid = 1  # volume info valid\nfilename = \nvolume = 24", with: "valid = 0\nfilename = \nvolume = 24"), file: "x.lta")
        }
    }

    @Test func everyTruncationIsAnErrorOrStillTheSameTransform() {
        let text = try! LTATransform.encode(.translation(SIMD3(1, 2, 3)), atlasGrid: TestGrids.ras1mm, scanGrid: TestGrids.las)
        for n in 0..<text.count {
            expectReturnsOrFileError("prefix \(n)") { try LTATransform.decode(String(text.prefix(n)), file: "t.lta") }
        }
    }
}
