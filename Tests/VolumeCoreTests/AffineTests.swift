import Foundation
import Testing
import TestSupport
import VolumeCore

struct AffineTests {
    @Test func compositionAppliesRightToLeft() {
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<50 {
            let a = KnownTransforms.random(&rng), b = KnownTransforms.random(&rng)
            let p = SIMD3(rng.uniform(-50, 50), rng.uniform(-50, 50), rng.uniform(-50, 50))
            let viaProduct = (a * b).apply(p)
            let stepwise = a.apply(b.apply(p))
            #expect(maxAbs(viaProduct - stepwise) < Tolerance.float64MatrixAlgebra)
        }
    }

    @Test func inverseUndoes() throws {
        var rng = SeededGenerator(seed: 2)
        for _ in 0..<50 {
            let a = KnownTransforms.random(&rng, maxDegrees: 180, maxScale: 0.5)
            let inv = try #require(a.inverse)
            #expect(Affine.maxAbsDifference(a * inv, .identity) < Tolerance.float64MatrixAlgebra)
            #expect(Affine.maxAbsDifference(inv * a, .identity) < Tolerance.float64MatrixAlgebra)
        }
    }

    @Test func singularHasNoInverse() {
        let flat = Affine(linear: .diagonal(SIMD3(1, 1, 0)))
        #expect(flat.inverse == nil)
        let nan = Affine(linear: .diagonal(SIMD3(1, .nan, 1)))
        #expect(nan.inverse == nil)
    }

    @Test func matrixProductMatchesNaive() {
        var rng = SeededGenerator(seed: 3)
        let a = Matrix3(rowMajor: (0..<9).map { _ in rng.uniform(-2, 2) })
        let b = Matrix3(rowMajor: (0..<9).map { _ in rng.uniform(-2, 2) })
        let p = a * b
        for r in 0..<3 {
            for c in 0..<3 {
                var s = 0.0
                for k in 0..<3 { s += a[r, k] * b[k, c] }
                #expect(abs(p[r, c] - s) < Tolerance.float64FewOperations)
            }
        }
        // det(ab) = det(a) det(b)
        #expect(abs(p.determinant - a.determinant * b.determinant) < Tolerance.float64MatrixAlgebra)
    }

    @Test func fourByFourRoundTrip() throws {
        var rng = SeededGenerator(seed: 4)
        let a = KnownTransforms.random(&rng)
        let b = try #require(Affine(rowMajor4x4: a.rowMajor4x4))
        #expect(a == b)
        #expect(Affine(rowMajor4x4: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1]) == nil)
    }
}

struct DecompositionTests {
    @Test func roundTripOverRandomAffines() throws {
        var rng = SeededGenerator(seed: 10)
        for _ in 0..<500 {
            let a = KnownTransforms.random(&rng, maxDegrees: 170, maxScale: 0.6, maxShear: 0.5, maxTranslation: 100)
            let d = try #require(Decomposition(a))
            #expect(Affine.maxAbsDifference(d.affine, a) < Tolerance.float64MatrixAlgebra)
            #expect(abs(d.determinant - a.determinant) < Tolerance.float64MatrixAlgebra * max(1, abs(a.determinant)))
        }
    }

    @Test func recoversTheComponentsThatBuiltIt() throws {
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<200 {
            // Within (-90°, 90°) for y the Euler angles are unique.
            let truth = Decomposition(
                translation: SIMD3(rng.uniform(-30, 30), rng.uniform(-30, 30), rng.uniform(-30, 30)),
                rotationDegrees: SIMD3(rng.uniform(-170, 170), rng.uniform(-85, 85), rng.uniform(-170, 170)),
                scale: SIMD3(rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)),
                shear: SIMD3(rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3)))
            let d = try #require(Decomposition(truth.affine))
            #expect(maxAbs(d.translation - truth.translation) < Tolerance.float64MatrixAlgebra)
            #expect(maxAbs(d.rotationDegrees - truth.rotationDegrees) < Tolerance.float64DecompositionDegrees)
            #expect(maxAbs(d.scale - truth.scale) < Tolerance.float64MatrixAlgebra)
            #expect(maxAbs(d.shear - truth.shear) < Tolerance.float64MatrixAlgebra)
        }
    }

    @Test func reflectionIsCarriedByNegativeXScale() throws {
        let flipY = Affine(linear: .diagonal(SIMD3(1, -1, 1)))
        let d = try #require(Decomposition(flipY))
        #expect(d.scale.x < 0)
        #expect(d.determinant < 0)
        #expect(Affine.maxAbsDifference(d.affine, flipY) < Tolerance.float64FewOperations)
    }

    @Test func gimbalLockStillComposesExactly() throws {
        let truth = Decomposition(rotationDegrees: SIMD3(30, 90, -20))
        let d = try #require(Decomposition(truth.affine))
        #expect(abs(d.rotationDegrees.y - 90) < Tolerance.angleDegrees)
        #expect(Affine.maxAbsDifference(d.affine, truth.affine) < Tolerance.float64MatrixAlgebra)
    }

    @Test func rotationAboutZMovesXTowardsY() {
        // Right-handed: +90° about z maps +x to +y.
        let r = Decomposition(rotationDegrees: SIMD3(0, 0, 90)).affine
        #expect(maxAbs(r.apply(SIMD3(1, 0, 0)) - SIMD3(0, 1, 0)) < Tolerance.float64FewOperations)
        #expect(abs(Decomposition(rotationDegrees: SIMD3(0, 0, 90)).rotationAngleDegrees - 90) < Tolerance.float64MatrixAlgebra)
    }

    @Test func singularIsRejected() {
        #expect(Decomposition(Affine(linear: .diagonal(SIMD3(1, 0, 1)))) == nil)
    }
}

struct GridTests {
    @Test func orientationCodes() {
        #expect(Orientation(voxelToWorld: .identity).code == "RAS")
        #expect(Orientation(voxelToWorld: .scaling(SIMD3(-1, -1, 1))).code == "LPS")
        #expect(Orientation(voxelToWorld: .scaling(SIMD3(-2, 1, 3))).code == "LAS")
        let permuted = Affine(linear: Matrix3(rows: SIMD3(0, 0, 1), SIMD3(-1, 0, 0), SIMD3(0, -1, 0)))
        // i → -y (P), j → -z (I), k → +x (R)
        #expect(Orientation(voxelToWorld: permuted).code == "PIR")
        #expect(!Orientation(voxelToWorld: permuted).isOblique)
        let oblique = Decomposition(rotationDegrees: SIMD3(10, 0, 0)).affine
        let o = Orientation(voxelToWorld: oblique)
        #expect(o.isOblique)
        #expect(abs(o.obliquityDegrees - 10) < Tolerance.angleDegrees)
        #expect(o.code == "RAS")
    }

    @Test func indexIsIFastest() {
        let g = Grid(dims: SIMD3(4, 5, 6), spacingMM: SIMD3(1, 1, 1))
        #expect(g.index(1, 0, 0) == 1)
        #expect(g.index(0, 1, 0) == 4)
        #expect(g.index(0, 0, 1) == 20)
        #expect(g.voxelCount == 120)
    }

    @Test func isotropicCoveringSpansTheBox() {
        let g = Grid(dims: SIMD3(181, 217, 181), voxelToWorld: Affine(linear: .diagonal(SIMD3(1, 1, 1)), translation: SIMD3(-90, -126, -72)))
        let c = g.isotropicCovering(spacingMM: 2)
        #expect(c.dims == SIMD3(91, 109, 91))
        #expect(maxAbs(c.centreWorld - g.centreWorld) < Tolerance.float64MatrixAlgebra)
        #expect(c.spacingMM == SIMD3(2, 2, 2))
    }

    @Test func parallelChunksVisitsEachChunkOnce() {
        for threads in [1, 2, 5] {
            let seen = UncheckedSendable(Counter(n: 37))
            parallelChunks(37, threads: threads) { c in seen.value.hit(c) }
            #expect(seen.value.counts == [Int](repeating: 1, count: 37))
        }
        var covered = [Int]()
        for c in 0..<7 { covered += Array(chunkRange(c, of: 7, count: 50)) }
        #expect(covered == Array(0..<50))
    }
}

final class Counter: @unchecked Sendable {
    var counts: [Int]
    private let lock = NSLock()
    init(n: Int) { counts = [Int](repeating: 0, count: n) }
    func hit(_ c: Int) { lock.withLock { counts[c] += 1 } }
}
