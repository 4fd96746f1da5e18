import Foundation

/// The minimiser seam: a whole minimisation of a smooth loss of a few parameters (refinement's
/// 6, 7 or 12), driven by the minimiser, which calls `evaluate` where it needs the loss.
///
/// Three implementations: ``AdamMinimizer`` (first order, fixed iterations, the per-step
/// ``Optimizer`` inside), ``LevenbergMarquardt`` (Gauss-Newton with damping, for the
/// least-squares-shaped measures whose ``Evaluation/curvature`` is given) and ``BFGS``
/// (quasi-Newton with a backtracking line search, for the others). All are deterministic:
/// the same evaluations give the same bits.
public protocol Minimizer: Sendable {
    /// `evaluate(point, wantsCurvature)`: the loss and gradient at `point`, and the curvature
    /// when `wantsCurvature` (only ``LevenbergMarquardt`` asks, and not at every point).
    func minimize(from start: [Double], stopping: StoppingRule, evaluate: ([Double], Bool) -> Evaluation) -> Minimization
}

/// What a minimiser learns about the loss at one point.
public struct Evaluation: Sendable {
    public var loss: Double
    /// ∂loss/∂parameters.
    public var gradient: [Double]
    /// A positive semi-definite approximation of the Hessian (k × k, row-major), when the
    /// problem has one (Gauss-Newton); nil otherwise.
    public var curvature: [Double]?

    public init(loss: Double, gradient: [Double], curvature: [Double]? = nil) {
        self.loss = loss
        self.gradient = gradient
        self.curvature = curvature
    }
}

/// When a minimisation stops.
public struct StoppingRule: Sendable {
    /// Largest number of loss evaluations (the iteration cap; the start counts as one).
    public var maxEvaluations: Int
    /// Convergence: a step whose size (``stepSize``) is below this ends the run.
    public var tolerance: Double
    /// The size of the step from the first point to the second, in the caller's units (for
    /// refinement: the largest displacement in mm over the atlas mask's radius).
    public var stepSize: @Sendable ([Double], [Double]) -> Double

    public init(maxEvaluations: Int, tolerance: Double, stepSize: @escaping @Sendable ([Double], [Double]) -> Double) {
        self.maxEvaluations = maxEvaluations
        self.tolerance = tolerance
        self.stepSize = stepSize
    }
}

public enum StopReason: String, Codable, Sendable, Equatable {
    /// The last step was smaller than the tolerance.
    case converged
    /// The evaluation cap was reached first.
    case iterationLimit
    /// No step along the model's direction lowered the loss (damping or line search exhausted).
    case noProgress
    /// The loss or gradient was not finite.
    case nonFinite
}

/// The outcome of ``Minimizer/minimize(from:stopping:evaluate:)``: the best point evaluated.
public struct Minimization: Sendable {
    public var parameters: [Double]
    public var loss: Double
    public var startLoss: Double
    /// Steps taken (accepted steps for the second-order methods, updates for Adam).
    public var iterations: Int
    /// Loss evaluations, the start included.
    public var evaluations: Int
    public var stopReason: StopReason

    public init(parameters: [Double], loss: Double, startLoss: Double, iterations: Int, evaluations: Int, stopReason: StopReason) {
        self.parameters = parameters
        self.loss = loss
        self.startLoss = startLoss
        self.iterations = iterations
        self.evaluations = evaluations
        self.stopReason = stopReason
    }
}

/// Adam over a fixed number of updates with a ``CosineSchedule`` from `learningRate` to 10 %
/// of it; returns the best point evaluated. `stopping.maxEvaluations − 1` updates; the
/// tolerance is not used (Adam's steps do not shrink to zero on their own).
public struct AdamMinimizer: Minimizer {
    public var learningRate: Double

    public init(learningRate: Double) {
        self.learningRate = learningRate
    }

    public func minimize(from start: [Double], stopping: StoppingRule, evaluate: ([Double], Bool) -> Evaluation) -> Minimization {
        let iterations = max(0, stopping.maxEvaluations - 1)
        var theta = [start]
        var adam = AdamW<Double>(learningRate: learningRate, weightDecay: 0, clipNorm: nil)
        let schedule = CosineSchedule(base: learningRate)
        var best = start, bestLoss = Double.infinity, startLoss = Double.nan
        var done = 0, evaluations = 0
        var reason = StopReason.iterationLimit
        for it in 0...iterations {
            let e = evaluate(theta[0], false)
            evaluations += 1
            if it == 0 { startLoss = e.loss }
            if e.loss.isFinite && e.loss < bestLoss { bestLoss = e.loss; best = theta[0] }
            if it == iterations { break }
            guard e.gradient.allSatisfy(\.isFinite) else { reason = .nonFinite; break }
            adam.learningRate = schedule.rate(step: it, of: iterations)
            adam.update(&theta, gradients: [e.gradient], decays: [false])
            done += 1
        }
        return Minimization(parameters: best, loss: bestLoss, startLoss: startLoss, iterations: done,
                            evaluations: evaluations, stopReason: reason)
    }
}

/// Solves `A·x = b` for a symmetric positive definite `A` (n × n, row-major) by Cholesky
/// factorisation; nil when `A` is not positive definite.
func choleskySolve(_ a: [Double], _ b: [Double]) -> [Double]? {
    let n = b.count
    precondition(a.count == n * n)
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var s = a[i * n + j]
            for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
            if i == j {
                guard s > 0, s.isFinite else { return nil }
                l[i * n + i] = s.squareRoot()
            } else {
                l[i * n + j] = s / l[j * n + j]
            }
        }
    }
    var y = b
    for i in 0..<n {
        for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
        y[i] /= l[i * n + i]
    }
    var x = y
    for i in stride(from: n - 1, through: 0, by: -1) {
        for k in (i + 1)..<n { x[i] -= l[k * n + i] * x[k] }
        x[i] /= l[i * n + i]
    }
    return x
}

func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in a.indices { s += a[i] * b[i] }
    return s
}

/// The nearest positive semi-definite matrix to a symmetric `a` (n × n, row-major) in the
/// Frobenius norm: its eigen-decomposition with negative eigenvalues set to 0. Cyclic Jacobi
/// rotations (a fixed order, at most 50 sweeps, until the off-diagonal mass is below 10⁻²⁴ of
/// the total): deterministic, and exact enough for a 12 × 12 curvature.
func positiveSemidefinitePart(_ a: [Double], n: Int) -> [Double] {
    var m = a
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    let total = m.reduce(0) { $0 + $1 * $1 }
    guard total > 0, total.isFinite else { return a }
    for _ in 0..<50 {
        var off = 0.0
        for p in 0..<n { for q in 0..<n where p != q { off += m[p * n + q] * m[p * n + q] } }
        if off <= 1e-24 * total { break }
        for p in 0..<(n - 1) {
            for q in (p + 1)..<n {
                let apq = m[p * n + q]
                if apq == 0 { continue }
                let theta = (m[q * n + q] - m[p * n + p]) / (2 * apq)
                let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<n {
                    let mkp = m[k * n + p], mkq = m[k * n + q]
                    m[k * n + p] = c * mkp - s * mkq
                    m[k * n + q] = s * mkp + c * mkq
                }
                for k in 0..<n {
                    let mpk = m[p * n + k], mqk = m[q * n + k]
                    m[p * n + k] = c * mpk - s * mqk
                    m[q * n + k] = s * mpk + c * mqk
                }
                for k in 0..<n {
                    let vkp = v[k * n + p], vkq = v[k * n + q]
                    v[k * n + p] = c * vkp - s * vkq
                    v[k * n + q] = s * vkp + c * vkq
                }
            }
        }
    }
    var out = [Double](repeating: 0, count: n * n)
    for e in 0..<n {
        let lambda = m[e * n + e]
        guard lambda > 0 else { continue }
        for i in 0..<n { for j in 0..<n { out[i * n + j] += lambda * v[i * n + e] * v[j * n + e] } }
    }
    return out
}
