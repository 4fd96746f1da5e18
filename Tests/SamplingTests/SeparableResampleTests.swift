import Foundation
@testable import Sampling
import Testing
import TestSupport
import VolumeCore

/// The fused, one-pass-per-axis ``smoothAndResample(_:onto:threads:)`` against the two steps it
/// replaces (``gaussianBlur(_:sigmaMM:threads:)`` then ``resample(_:onto:interpolation:threads:)``).
struct SeparableResampleTests {
    /// Both are sums of the same Float32 products in another grouping (a product kernel against
    /// three passes of taps then 8 trilinear weights): they agree to a few 1e-7 of the largest
    /// value; 1e-5 leaves a margin of 30× on any CPU (no BLAS, no FMA-dependent code paths).
    static let regrouping: Float = 1e-5

    func twoStep(_ v: Volume, onto target: Grid) -> Volume {
        let smoothed = gaussianBlur(v, sigmaMM: antiAliasingSigmaMM(from: v.grid, to: target), threads: 1)
        return resample(smoothed, onto: target, atlasToScan: .identity, interpolation: .linear, threads: 1)
    }

    static let targets: [(String, Grid)] = [
        // Coarser, offset, partly outside the source (zero padding), anisotropic.
        ("2 mm offset", Grid(dims: SIMD3(11, 9, 8), spacingMM: SIMD3(2, 2, 2), origin: SIMD3(-3.3, 1.7, -0.4))),
        ("3 × 2.5 × 4 mm beyond the edge", Grid(dims: SIMD3(9, 10, 6), spacingMM: SIMD3(3, 2.5, 4), origin: SIMD3(-6, -5, -3))),
        // Finer than the source along one axis (no blur there).
        ("0.7 mm along i", Grid(dims: SIMD3(25, 7, 6), spacingMM: SIMD3(0.7, 2.2, 2.4), origin: SIMD3(0.2, 0.1, 0.3))),
    ]

    @Test(arguments: 0..<3)
    func matchesBlurThenResample(target index: Int) {
        let (name, target) = SeparableResampleTests.targets[index]
        let source = Grid(dims: SIMD3(17, 15, 13), spacingMM: SIMD3(1, 1.2, 1.5), origin: SIMD3(-1, 0, 0.5))
        var v = Phantom.blobs(grid: source)
        var rng = SeededGenerator(seed: 3)
        for n in v.voxels.indices { v.voxels[n] += Float(rng.uniform(-5, 5)) }
        let map = targetVoxelToScanVoxel(target: target, scan: source, atlasToScan: .identity)
        #expect(_isAxisAligned(map))
        let fused = smoothAndResample(v, onto: target, threads: 2)
        let reference = twoStep(v, onto: target)
        let scale = reference.voxels.map(abs).max()!
        let worst = zip(fused.voxels, reference.voxels).map { abs($0 - $1) }.max()!
        #expect(worst <= SeparableResampleTests.regrouping * scale, "\(name): \(worst) of \(scale)")
        #expect(smoothAndResample(v, onto: target, threads: 1).voxels == fused.voxels, "\(name): thread count changed the bits")
    }

    /// A rotated target keeps the two-step path: the same bits as before.
    @Test func obliqueTargetsUseTheTwoSteps() {
        let source = Grid(dims: SIMD3(12, 11, 10), spacingMM: SIMD3(1, 1, 1), origin: .zero)
        let rotation = Decomposition(translation: .zero, rotationDegrees: SIMD3(0, 0, 10)).affine
        let axisAligned = Grid(dims: SIMD3(6, 6, 5), spacingMM: SIMD3(2, 2, 2), origin: SIMD3(1, 1, 1))
        let target = Grid(dims: axisAligned.dims, voxelToWorld: rotation * axisAligned.voxelToWorld)
        #expect(!_isAxisAligned(targetVoxelToScanVoxel(target: target, scan: source, atlasToScan: .identity)))
        let v = Phantom.blobs(grid: source)
        #expect(smoothAndResample(v, onto: target, threads: 1).voxels == twoStep(v, onto: target).voxels)
    }
}
