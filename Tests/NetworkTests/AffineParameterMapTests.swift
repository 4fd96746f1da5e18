import Foundation
import Network
import Testing
import TestSupport
import VolumeCore

struct AffineParameterMapTests {
    static let map = AffineParameterMap(maxRotationDegrees: 40, maxTranslation: 0.3, maxScale: 1.3, maxShear: 0.2)

    static func entries(_ o: [Double]) -> [Double] {
        let m = map.affine(o).rowMajor4x4
        return Array(m[0..<12])
    }

    @Test func zeroIsTheIdentity() {
        #expect(Self.map.affine([Double](repeating: 0, count: 12)) == .identity)
    }

    @Test func componentsAreBoundedAndComposedLikeDecomposition() {
        let huge = [1e3, -1e3, 1e3, 1e3, -1e3, 1e3, 1e3, -1e3, 1e3, 1e3, -1e3, 1e3]
        let d = Self.map.decomposition(huge)
        #expect(d.rotationDegrees == SIMD3(40, -40, 40))
        #expect(d.translation == SIMD3(0.3, -0.3, 0.3))
        #expect(abs(d.scale.x - 1.3) < Tolerance.float64FewOperations && abs(d.scale.y - 1 / 1.3) < Tolerance.float64FewOperations)
        #expect(d.shear == SIMD3(0.2, -0.2, 0.2))
        var rng = SeededGenerator(seed: 1)
        let o = (0..<12).map { _ in rng.uniform(-2, 2) }
        let round = Decomposition(Self.map.affine(o))!
        #expect(Affine.maxAbsDifference(round.affine, Self.map.affine(o)) < Tolerance.float64FewOperations)
        #expect(maxAbs(round.rotationDegrees - Self.map.decomposition(o).rotationDegrees) < Tolerance.float64MatrixAlgebra)
    }

    @Test(arguments: [UInt64(2), 3, 4])
    func jacobianMatchesFiniteDifferences(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let o = (0..<12).map { _ in rng.uniform(-1.5, 1.5) }
        let j = Self.map.jacobian(o)
        for e in 0..<12 {
            let numeric = GradientCheck.numerical(o, h: 1e-6) { Self.entries($0)[e] }
            let analytic = (0..<12).map { j[e * 12 + $0] }
            #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: Tolerance.float64GradientFloor) < Tolerance.float64FiniteDifference, "entry \(e)")
        }
        let g = (0..<12).map { _ in rng.uniform(-1, 1) }
        let vjp = Self.map.outputGradient(o, entryGradient: g)
        let numeric = GradientCheck.numerical(o, h: 1e-6) { x in zip(Self.entries(x), g).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(GradientCheck.maxRelativeError(vjp, numeric, floor: Tolerance.float64GradientFloor) < Tolerance.float64FiniteDifference)
    }
}
