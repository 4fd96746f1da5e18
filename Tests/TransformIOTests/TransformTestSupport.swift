import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import TransformIO

/// Grids of the kinds scanners produce: RAS, LAS (radiological), LPS (DICOM-like), anisotropic,
/// and oblique (rotated) ones; all with rigid (shear-free) voxel axes, as NIfTI qforms are.
enum TestGrids {
    static func make(dims: SIMD3<Int>, spacing: SIMD3<Double>, flips: SIMD3<Double> = .one,
                     rotationDegrees: SIMD3<Double> = .zero, origin: SIMD3<Double> = .zero) -> Grid {
        let r = Decomposition(rotationDegrees: rotationDegrees).affine.linear
        return Grid(dims: dims, voxelToWorld: Affine(linear: r * .diagonal(spacing * flips), translation: origin))
    }

    static let ras1mm = make(dims: SIMD3(20, 22, 18), spacing: .one, origin: SIMD3(-10, -11, -9))
    static let las = make(dims: SIMD3(24, 20, 16), spacing: SIMD3(1.2, 1, 1.5), flips: SIMD3(-1, 1, 1), origin: SIMD3(14, -10, -12))
    static let lps = make(dims: SIMD3(18, 20, 22), spacing: SIMD3(0.9, 0.9, 2), flips: SIMD3(-1, -1, 1), origin: SIMD3(8, 9, -20))
    static let anisotropic = make(dims: SIMD3(30, 12, 9), spacing: SIMD3(0.7, 2.5, 4), origin: SIMD3(-10, -15, -16))
    static let obliqueLAS = make(dims: SIMD3(20, 22, 18), spacing: SIMD3(1.1, 1.3, 1.6), flips: SIMD3(-1, 1, 1),
                                 rotationDegrees: SIMD3(12, -8, 20), origin: SIMD3(11, -14, -13))

    static let named: [(String, Grid)] = [("RAS 1 mm", ras1mm), ("LAS", las), ("LPS", lps),
                                          ("anisotropic", anisotropic), ("oblique LAS", obliqueLAS)]

    /// A random grid: random dims, spacing, axis flips, rotation and origin.
    static func random(_ rng: inout SeededGenerator) -> Grid {
        let dims = SIMD3(Int(rng.uniform(8, 60)), Int(rng.uniform(8, 60)), Int(rng.uniform(8, 60)))
        let spacing = SIMD3(rng.uniform(0.5, 3), rng.uniform(0.5, 3), rng.uniform(0.5, 3))
        let flips = SIMD3(rng.uniform(0, 1) < 0.5 ? -1.0 : 1, rng.uniform(0, 1) < 0.5 ? -1.0 : 1, rng.uniform(0, 1) < 0.5 ? -1.0 : 1)
        let rot = rng.uniform(0, 1) < 0.5 ? SIMD3<Double>.zero
            : SIMD3(rng.uniform(-30, 30), rng.uniform(-30, 30), rng.uniform(-30, 30))
        let origin = SIMD3(rng.uniform(-100, 100), rng.uniform(-100, 100), rng.uniform(-100, 100))
        return make(dims: dims, spacing: spacing, flips: flips, rotationDegrees: rot, origin: origin)
    }
}

/// Largest entry difference relative to the matrix scale (1 + largest entry of `b`).
func relativeDifference(_ a: Affine, _ b: Affine) -> Double {
    let scale = 1 + (b.rowMajor4x4.map(abs).max() ?? 0)
    return Affine.maxAbsDifference(a, b) / scale
}

/// Runs `body` and checks that it throws a ``TransformFileError`` with exactly `expected` as
/// its description.
func expectTransformError(_ expected: String, sourceLocation: SourceLocation = #_sourceLocation,
                          _ body: () throws -> Any) {
    do {
        let value = try body()
        Issue.record("expected the error \"\(expected)\", got \(value)", sourceLocation: sourceLocation)
    } catch let error as TransformFileError {
        #expect(error.description == expected, sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a TransformFileError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Runs `body` and checks that it either returns or throws a ``TransformFileError`` (no other
/// error, no crash): for damaged input.
func expectReturnsOrFileError(_ label: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any) {
    do { _ = try body() } catch is TransformFileError {} catch {
        Issue.record("\(label): unexpected error \(error)", sourceLocation: sourceLocation)
    }
}
