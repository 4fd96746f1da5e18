import Foundation
import Testing
import VolumeCore
@testable import Sampling
import TestSupport

@Suite struct GaussianBlurTests {
    static let grid = Grid(dims: SIMD3(10, 9, 8), spacingMM: SIMD3(1, 1.5, 2))

    @Test func matchesNaive3DConvolution() {
        let v = Phantom.noise(grid: Self.grid, seed: 1, lo: -1, hi: 1)
        let sigmaMM = SIMD3(1.2, 2.0, 1.5)
        let out = gaussianBlur(v, sigmaMM: sigmaMM, threads: 2)
        let ref = Naive.blur(v, sigmaVoxels: sigmaMM / Self.grid.spacingMM)
        #expect(maxAbsDiff(out.voxels, ref) < Tolerance.float32Accumulation)
    }

    @Test func keepsAConstantImageConstant() {
        let v = Volume(grid: Self.grid, repeating: 3)
        let out = gaussianBlur(v, sigmaMM: SIMD3(2, 3, 4), threads: 2)
        #expect(out.voxels.allSatisfy { abs($0 - 3) < Float(Tolerance.float32Accumulation) })
    }

    @Test func zeroSigmaIsIdentity() {
        let v = Phantom.noise(grid: Self.grid, seed: 2)
        #expect(bitwiseEqual(gaussianBlur(v, sigmaMM: .zero, threads: 1).voxels, v.voxels))
    }

    @Test func isBitwiseIdenticalAcrossThreadCounts() {
        let grid = Grid(dims: SIMD3(24, 20, 22), spacingMM: SIMD3(1, 1, 1))
        let v = Phantom.noise(grid: grid, seed: 3)
        let outs = [1, 2, 3].map { gaussianBlur(v, sigmaMM: SIMD3(1.3, 0.8, 2), threads: $0) }
        #expect(bitwiseEqual(outs[0].voxels, outs[1].voxels))
        #expect(bitwiseEqual(outs[0].voxels, outs[2].voxels))
    }

    @Test func antiAliasingSigmaFollowsTheFWHMFormula() {
        let fine = Grid(dims: SIMD3(20, 20, 20), spacingMM: SIMD3(1, 1, 3))
        let coarse = Grid(dims: SIMD3(5, 5, 5), spacingMM: SIMD3(4, 2, 2))
        let s = antiAliasingSigmaMM(from: fine, to: coarse)
        let k = 2 * (2 * log(2.0)).squareRoot()
        #expect(abs(s.x - 15.0.squareRoot() / k) < Tolerance.float64FewOperations)
        #expect(abs(s.y - 3.0.squareRoot() / k) < Tolerance.float64FewOperations)
        #expect(s.z == 0)  // the target is finer than the source along k
        // A rotated target: spacing seen along each source axis.
        let rotated = Grid(dims: SIMD3(5, 5, 5), voxelToWorld: Affine(linear: Matrix3(rows: SIMD3(0, 2, 0), SIMD3(4, 0, 0), SIMD3(0, 0, 2))))
        let r = antiAliasingSigmaMM(from: fine, to: rotated)
        #expect(abs(r.x - 3.0.squareRoot() / k) < Tolerance.float64FewOperations && abs(r.y - 15.0.squareRoot() / k) < Tolerance.float64FewOperations)
    }

    @Test func smoothAndResampleIsBlurThenLinearResample() {
        let fine = centredGrid(SIMD3(16, 16, 16), spacing: SIMD3(1, 1, 1))
        let v = Phantom.blobs(grid: fine)
        let coarse = fine.isotropicCovering(spacingMM: 2)
        let out = smoothAndResample(v, onto: coarse, threads: 2)
        let expected = resample(gaussianBlur(v, sigmaMM: antiAliasingSigmaMM(from: fine, to: coarse), threads: 1),
                                onto: coarse, threads: 1)
        // Axis-aligned: the fused one-pass-per-axis path, equal up to Float32 regrouping
        // (SeparableResampleTests holds the tolerance and its reason; it was bitwise before the
        // fused path existed, and still is for oblique targets).
        let scale = expected.voxels.map(abs).max()!
        #expect(zip(out.voxels, expected.voxels).map { abs($0 - $1) }.max()! <= SeparableResampleTests.regrouping * scale)
        #expect(out.grid == coarse)
        // Smoothing removes a checkerboard that plain resampling would alias.
        var checker = Volume(grid: fine)
        for k in 0..<16 { for j in 0..<16 { for i in 0..<16 { checker[i, j, k] = (i + j + k) % 2 == 0 ? 1 : -1 } } }
        let smooth = smoothAndResample(checker, onto: coarse, threads: 2)
        #expect(smooth.voxels.allSatisfy { abs($0) < 0.5 })
    }
}
