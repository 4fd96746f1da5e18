import Foundation
@testable import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

struct RefinementGradientTests {
    /// A level with a smooth phantom atlas and a moved, differently sampled scan.
    func level() -> WorkingLevel {
        let ag = Grid(dims: SIMD3(14, 16, 12), spacingMM: SIMD3(6, 6, 6), origin: SIMD3(-40, -45, -33))
        let atlas = Phantom.blobs(grid: ag)
        // The scan's field of view covers the atlas mask (with margin): the loss is smooth here
        // (FieldOfViewTests checks the restricted case).
        let sg = Grid(dims: SIMD3(26, 24, 24), spacingMM: SIMD3(5, 5.5, 5), origin: SIMD3(-64, -66, -60))
        let t = Decomposition(translation: SIMD3(2, -1, 3), rotationDegrees: SIMD3(4, -3, 5)).affine
        let scan = resample(atlas, onto: sg, atlasToScan: t.inverse!)
        func normalised(_ v: Volume) -> Volume {
            ImagePreparation.robustNormalise(v, percentiles: (1, 99)).volume
        }
        let a = normalised(atlas)
        return WorkingLevel(spacingMM: 6, atlas: a, mask: ImagePreparation.mask(a, threshold: 0.05, dilation: 1), scan: normalised(scan))
    }

    @Test(arguments: TransformModel.allCases)
    func parameterGradientMatchesFiniteDifferences(model: TransformModel) {
        let lv = level()
        let start = Decomposition(translation: SIMD3(1, 0.5, -0.7), rotationDegrees: SIMD3(2, 1, -1)).affine
        #expect(lv.coveredMask(atlasToScan: start).mask == nil)
        let params = AffineParameters(start: start, centre: SIMD3(0, -2, 1), radiusMM: 40, model: model)
        var rng = SeededGenerator(seed: 7)
        let theta = (0..<params.freeCount).map { _ in rng.uniform(-0.02, 0.02) }
        let loss: ([Double]) -> Double = { th in
            Refinement.lossAndGradient(level: lv, atlasToScan: params.transform(th), threads: 1).0
        }
        let (_, dT) = Refinement.lossAndGradient(level: lv, atlasToScan: params.transform(theta), threads: 1)
        let analytic = params.chain(dT, at: theta)
        let numeric = GradientCheck.numerical(theta, h: 1e-4, loss)
        let err = GradientCheck.maxRelativeError(analytic, numeric, floor: Tolerance.float32GradientFloor)
        #expect(err < Tolerance.float32LossFiniteDifference, "analytic \(analytic) numeric \(numeric)")
    }

    @Test func updateIsIdentityAtZeroAndRigidStaysRigid() throws {
        let c = SIMD3(3.0, -4, 5)
        #expect(Affine.maxAbsDifference(AffineParameters.update([Double](repeating: 0, count: 12), centre: c, radiusMM: 50), .identity) < Tolerance.float64UnitScale)
        let p = AffineParameters(start: .identity, centre: c, radiusMM: 50, model: .rigid)
        let t = p.transform([0.3, -0.2, 0.1, 0.05, 0.02, -0.04])
        let d = try #require(Decomposition(t))
        #expect(maxAbs(d.scale - SIMD3(1, 1, 1)) < Tolerance.float64FewOperations)
        #expect(maxAbs(d.shear) < Tolerance.float64FewOperations)
        // The centre moves only by the translation ρ·τ.
        #expect(maxAbs(t.apply(c) - (c + 50 * SIMD3(0.05, 0.02, -0.04))) < Tolerance.float64FewOperations)
    }

    @Test func rodriguesMatchesEulerForAxisRotations() {
        let r = AffineParameters.rotation(SIMD3(0, 0, Double.pi / 2))
        #expect(Matrix3.maxAbsDifference(r, Decomposition.rotationMatrix(degrees: SIMD3(0, 0, 90))) < Tolerance.float64FewOperations)
    }
}

struct ImagePreparationTests {
    @Test func percentilesMapToZeroAndOne() {
        // Background 0, foreground values 1…1000 once each.
        let g = Grid(dims: SIMD3(10, 10, 11), spacingMM: .one)
        var v = Volume(grid: g)
        for n in 0..<1000 { v.voxels[n] = Float(n + 1) }
        let r = ImagePreparation.robustNormalise(v, percentiles: (1, 99))
        // Naive percentiles of 1…1000: 1 % → ~10, 99 % → ~990.
        #expect(abs(r.low - 10) < 1.5, "\(r.low)")
        #expect(abs(r.high - 990) < 1.5, "\(r.high)")
        #expect(r.volume.voxels[1000] == 0)             // background
        #expect(r.volume.voxels[999] == 1)              // above the high percentile: clipped
        #expect(abs(r.volume.voxels[499] - (500 - r.low) / (r.high - r.low)) < Float(Tolerance.float32FewOperations))
    }

    @Test func constantOrEmptyVolumesDoNotDivideByZero() {
        let g = Grid(dims: SIMD3(4, 4, 4), spacingMM: .one)
        let r = ImagePreparation.robustNormalise(Volume(grid: g, repeating: 7), percentiles: (1, 99))
        #expect(r.volume.voxels.allSatisfy { $0 == 0 })
        var nan = Volume(grid: g, repeating: .nan)
        nan.voxels[3] = 5
        #expect(ImagePreparation.robustNormalise(nan, percentiles: (1, 99)).volume.voxels.allSatisfy { $0.isFinite })
    }

    @Test func centreOfMassOfAPoint() {
        var v = Volume(grid: Grid(dims: SIMD3(5, 6, 7), spacingMM: SIMD3(2, 2, 2), origin: SIMD3(-4, 0, 10)))
        v[3, 1, 2] = 4
        #expect(ImagePreparation.centreOfMass(v) == SIMD3(2, 2, 14))
    }
}
