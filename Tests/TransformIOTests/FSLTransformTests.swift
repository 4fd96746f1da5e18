import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import TransformIO

@Suite struct FSLTransformTests {
    @Test func roundTripOverRandomAffinesAndGrids() throws {
        var rng = SeededGenerator(seed: 303)
        for n in 0..<200 {
            let t = KnownTransforms.random(&rng, maxDegrees: 60, maxTranslation: 40)
            let atlas = n < 25 ? TestGrids.named[n % 5].1 : TestGrids.random(&rng)
            let scan = n < 25 ? TestGrids.named[n / 5].1 : TestGrids.random(&rng)
            let text = try FSLTransform.encode(t, atlasGrid: atlas, scanGrid: scan)
            let back = try FSLTransform.decode(text, file: "x.mat", atlasGrid: atlas, scanGrid: scan)
            #expect(relativeDifference(back, t) < Tolerance.transformFileThroughGrids, "case \(n)")
        }
    }

    /// The FLIRT matrix really acts on FSL coordinates: a scan point given in FSL mm, mapped by
    /// the matrix, is the atlas point (in FSL mm) that atlasToScan maps onto it.
    @Test func matrixMapsScanFSLCoordinatesToAtlasFSLCoordinates() throws {
        var rng = SeededGenerator(seed: 304)
        for (_, atlas) in TestGrids.named {
            for (_, scan) in TestGrids.named {
                let t = KnownTransforms.random(&rng)
                let flirt = try #require(FSLTransform.flirtMatrix(atlasToScan: t, atlasGrid: atlas, scanGrid: scan))
                let atlasVoxel = SIMD3(rng.uniform(0, 10), rng.uniform(0, 10), rng.uniform(0, 10))
                let atlasWorld = atlas.voxelToWorld.apply(atlasVoxel)
                let scanVoxel = scan.worldToVoxel.apply(t.apply(atlasWorld))
                let scanFSL = FSLTransform.scaledVoxelMap(scan).apply(scanVoxel)
                let atlasFSL = FSLTransform.scaledVoxelMap(atlas).apply(atlasVoxel)
                #expect(length(flirt.apply(scanFSL) - atlasFSL) < Tolerance.float64MatrixAlgebra)
            }
        }
    }

    /// Identity transform, both images RAS 1 mm with voxel 0 at the same place, but 10 and 20
    /// voxels along i: FSL mirrors i (det > 0), so x_fsl = (n − 1 − i), and the matrix shifts
    /// x by 10 − 20 = −10 mm.
    @Test func identityBetweenRASImagesShowsTheXFlip() throws {
        let atlas = Grid(dims: SIMD3(10, 8, 6), spacingMM: .one)
        let scan = Grid(dims: SIMD3(20, 8, 6), spacingMM: .one)
        #expect(try FSLTransform.encode(.identity, atlasGrid: atlas, scanGrid: scan) == """
            1 0 0 -10
            0 1 0 0
            0 0 1 0
            0 0 0 1

            """)
    }

    /// The same with LAS images (det < 0): no mirroring, so the identity.
    @Test func identityBetweenLASImagesIsTheIdentity() throws {
        let las = Affine(linear: .diagonal(SIMD3(-1, 1, 1)), translation: SIMD3(9, 0, 0))
        let atlas = Grid(dims: SIMD3(10, 8, 6), voxelToWorld: las)
        let scan = Grid(dims: SIMD3(20, 8, 6), voxelToWorld: las)
        #expect(try FSLTransform.encode(.identity, atlasGrid: atlas, scanGrid: scan) == "1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n")
    }

    /// atlasToScan = +5 mm along R on one RAS 1 mm grid: FLIRT maps scan→atlas (−5 mm in
    /// world x) and mirrors x, so its x translation is +5; with 2 mm voxels too (FSL mm are mm).
    @Test func translationChangesDirectionTwice() throws {
        for spacing in [1.0, 2.0] {
            let g = Grid(dims: SIMD3(20, 22, 18), spacingMM: SIMD3(repeating: spacing), origin: SIMD3(-20, -22, -18))
            let m = try #require(FSLTransform.flirtMatrix(atlasToScan: .translation(SIMD3(5, 0, 3)), atlasGrid: g, scanGrid: g))
            #expect(Affine.maxAbsDifference(m, .translation(SIMD3(5, 0, -3))) < Tolerance.float64FewOperations)
        }
    }

    static let grids = (atlas: TestGrids.ras1mm, scan: TestGrids.las)

    @Test func malformedInputIsAClearError() {
        func decode(_ text: String) throws -> Affine {
            try FSLTransform.decode(text, file: "x.mat", atlasGrid: Self.grids.atlas, scanGrid: Self.grids.scan)
        }
        expectTransformError("x.mat: line 3: expected 4 numbers, found 3; an FSL matrix has 4 rows of 4 numbers") {
            try decode("1 0 0 0\n0 1 0 0\n0 0 1\n0 0 0 1\n")
        }
        expectTransformError("x.mat: end of file: expected 4 rows of 4 numbers, found 3; an FSL matrix has 4 rows of 4 numbers") {
            try decode("1 0 0 0\n0 1 0 0\n0 0 1 0\n")
        }
        expectTransformError("x.mat: line 2: number 2 is not finite (nan); the transform that produced this file failed; register again") {
            try decode("1 0 0 0\n0 nan 0 0\n0 0 1 0\n0 0 0 1\n")
        }
        expectTransformError("x.mat: line 4: the last row is '0 0 1 1', not '0 0 0 1'; this is not an affine matrix") {
            try decode("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 1 1\n")
        }
        expectTransformError("x.mat: the matrix is singular (determinant 0); a registration transform must be invertible; the file is damaged or the registration failed") {
            try decode("1 0 0 0\n0 0 0 0\n0 0 1 0\n0 0 0 1\n")
        }
        expectTransformError("x.mat: line 6: unexpected text after the 4×4 matrix; an FSL matrix has exactly 4 rows of 4 numbers") {
            try decode("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n\n1 0 0 0\n")
        }
        expectTransformError("x.mat: this looks like an FSL matrix; FSL needs --scan-header and --atlas-header; its coordinates depend on both images' grids: pass the scan and atlas images") {
            try FSLTransform.decode("1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n", file: "x.mat", atlasGrid: nil, scanGrid: Self.grids.scan)
        }
    }

    @Test func commentsAndCRLFAreAccepted() throws {
        let text = "# from flirt\r\n1 0 0 0\r\n0 1 0 0\r\n0 0 1 0\r\n0 0 0 1\r\n"
        let g = TestGrids.ras1mm
        #expect(try FSLTransform.decode(text, file: "x.mat", atlasGrid: g, scanGrid: g) == .identity)
    }
}
