import Foundation
@testable import Optimization
import Testing

/// The second-order minimisers on functions whose minimum is known exactly.
struct SecondOrderTests {
    /// `f(x) = ½ (x − m)ᵀ A (x − m)` with a fixed SPD `A`.
    static let a: [Double] = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2]
    static let minimum = [1.0, -2.0, 0.5]

    static func quadratic(_ x: [Double]) -> (Double, [Double]) {
        let d = zip(x, minimum).map { $0 - $1 }
        var g = [Double](repeating: 0, count: 3)
        for i in 0..<3 { for j in 0..<3 { g[i] += a[i * 3 + j] * d[j] } }
        return (0.5 * zip(d, g).reduce(0) { $0 + $1.0 * $1.1 }, g)
    }

    static func stopping(_ tol: Double, _ cap: Int = 200) -> StoppingRule {
        StoppingRule(maxEvaluations: cap, tolerance: tol) { a, b in
            var s = 0.0
            for i in a.indices { s += (a[i] - b[i]) * (a[i] - b[i]) }
            return s.squareRoot()
        }
    }

    /// With the exact Hessian one step lands on the minimum (a second, shorter than the
    /// tolerance, confirms it); with one 5× too large (or 3× too
    /// small) the curvature scale κ and the damping still get there, in a few more steps.
    @Test(arguments: [1.0, 5.0, 1.0 / 3])
    func levenbergMarquardtFindsTheQuadraticsMinimum(curvatureError: Double) {
        let r = LevenbergMarquardt().minimize(from: [0, 0, 0], stopping: Self.stopping(1e-10)) { x, _ in
            let (f, g) = Self.quadratic(x)
            return Evaluation(loss: f, gradient: g, curvature: Self.a.map { $0 * curvatureError })
        }
        #expect(r.stopReason == .converged)
        for i in 0..<3 { #expect(abs(r.parameters[i] - Self.minimum[i]) < 1e-8) }
        #expect(r.evaluations <= (curvatureError == 1 ? 4 : 40), "\(r.evaluations) evaluations")
    }

    /// A curvature that all but misses a direction (100× too small along it) still gets near
    /// the minimum: rejected steps raise the damping until that direction is tamed (convergence
    /// is then linear: from a loss of 6.3 to below 1e-5 within the 400 evaluations; measured 6e-6).
    @Test func levenbergMarquardtSurvivesANearlySingularCurvature() {
        let singular: [Double] = [4, 1, 0, 1, 3, 0, 0, 0, 0.02]
        let r = LevenbergMarquardt().minimize(from: [0, 0, 0], stopping: Self.stopping(1e-9, 400)) { x, _ in
            let (f, g) = Self.quadratic(x)
            return Evaluation(loss: f, gradient: g, curvature: singular)
        }
        #expect(r.loss < 1e-5, "loss \(r.loss) after \(r.evaluations) evaluations, \(r.stopReason), at \(r.parameters)")
    }

    /// Rosenbrock's valley, the classic test of a quasi-Newton method: BFGS from (−1.2, 1).
    @Test func bfgsFindsRosenbrocksMinimum() {
        let r = BFGS(initialStep: 0.1).minimize(from: [-1.2, 1], stopping: Self.stopping(1e-10, 500)) { x, _ in
            let (p, q) = (x[0], x[1])
            let f = 100 * (q - p * p) * (q - p * p) + (1 - p) * (1 - p)
            return Evaluation(loss: f, gradient: [-400 * p * (q - p * p) - 2 * (1 - p), 200 * (q - p * p)])
        }
        #expect(abs(r.parameters[0] - 1) < 1e-5 && abs(r.parameters[1] - 1) < 1e-5, "\(r.parameters) \(r.stopReason) \(r.evaluations)")
        #expect(r.evaluations < 500)
    }

    @Test func choleskyAndThePSDPartAreExact() throws {
        let x = try #require(choleskySolve(Self.a, [1, 2, 3]))
        var ax = [Double](repeating: 0, count: 3)
        for i in 0..<3 { for j in 0..<3 { ax[i] += Self.a[i * 3 + j] * x[j] } }
        for i in 0..<3 { #expect(abs(ax[i] - Double(i + 1)) < 1e-12) }
        #expect(choleskySolve([1, 2, 2, 1], [1, 1]) == nil)   // indefinite
        // An SPD matrix is its own PSD part; diag(2, −1) loses its negative eigenvalue.
        let same = positiveSemidefinitePart(Self.a, n: 3)
        for e in 0..<9 { #expect(abs(same[e] - Self.a[e]) < 1e-12) }
        let clipped = positiveSemidefinitePart([2, 0, 0, -1], n: 2)
        #expect(abs(clipped[0] - 2) < 1e-12 && abs(clipped[3]) < 1e-12)
        // A rotated indefinite matrix: eigenvalues 3 and −1 along (1, 1)/√2 and (1, −1)/√2.
        let rotated = positiveSemidefinitePart([1, 2, 2, 1], n: 2)
        for e in 0..<4 { #expect(abs(rotated[e] - 1.5) < 1e-12) }
    }
}
