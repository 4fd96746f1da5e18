import Foundation

/// Levenberg-Marquardt on a Gauss-Newton curvature, with an adaptive curvature scale.
///
/// The curvature used is the positive semi-definite part of ``Evaluation/curvature`` (an
/// approximate one may have small negative eigenvalues), evaluated at the start and at trial
/// points whose step is longer than ``refreshFactor`` tolerances, and reused in between.
///
/// At the current point with gradient `g` and curvature `H` (from ``Evaluation/curvature``),
/// the step solves
///
///     (κ·H + λ·diag(κ·H)) · δ = −g
///
/// (the diagonal floored at 10⁻⁴ of its mean, plus a ridge of 10⁻⁶ of it) and is accepted
/// when the loss decreases. The gain ratio `ρ` = actual / predicted decrease
/// (predicted by the quadratic model `gᵀδ + ½ δᵀ κH δ`) steers the two scalars:
/// - `ρ < ¼`: more damping, `λ ← max(4λ, 10⁻³)`;
/// - `ρ > ¾`: less damping, `λ ← λ/3` (down to 0);
/// - `ρ` outside [0.8, 1.2] on an accepted step: the curvature is off by a factor along the
///   step — for an exact quadratic whose true curvature is `τ·κH`, the undamped step gives
///   `ρ = 2 − τ` — so `κ ← κ·(2 − ρ)`, by at most a factor 2 per step (κ in [10⁻³, 4]); only
///   while the predicted decrease exceeds 10⁻⁵ of the loss (below, `ρ` is rounding and
///   interpolation noise).
///   Approximate curvatures that err by a steady factor (windowed NCC's, see `WarpedCurvature`)
///   then still take steps of the right length after one or two iterations. A rejected step
///   first restores `κ ← min(1, 2κ)` when κ < 1, and otherwise raises the damping.
///
/// Stops when a step is shorter than the tolerance (an accepted one only while λ ≤ 1; a rejected
/// one means no shorter move helps either: the minimum, to the loss's noise), at the evaluation cap,
/// or when the damping exceeds 10⁸ (no descent found). Returns the best point evaluated.
public struct LevenbergMarquardt: Minimizer {
    /// A trial point gets a new curvature only when its step is longer than this many
    /// tolerances; near convergence the curvature of the last long step is reused (its scale
    /// error is what κ corrects), which saves most of the curvature's cost on the fine levels.
    public var refreshFactor: Double

    public init(refreshFactor: Double = 20) {
        precondition(refreshFactor >= 0)
        self.refreshFactor = refreshFactor
    }

    public func minimize(from start: [Double], stopping: StoppingRule, evaluate: ([Double], Bool) -> Evaluation) -> Minimization {
        let k = start.count
        var x = start
        var e = evaluate(x, true)
        var evaluations = 1, accepted = 0
        let startLoss = e.loss
        guard e.loss.isFinite, e.gradient.allSatisfy(\.isFinite), let h0 = e.curvature, h0.allSatisfy(\.isFinite) else {
            return Minimization(parameters: x, loss: e.loss, startLoss: startLoss, iterations: 0, evaluations: 1, stopReason: .nonFinite)
        }
        precondition(h0.count == k * k, "LevenbergMarquardt needs a k × k curvature")
        var lambda = 0.0, kappa = 1.0
        // The curvature in use: refreshed where a step was long (see `refreshFactor`).
        var curvature = positiveSemidefinitePart(h0, n: k)
        var reason = StopReason.iterationLimit
        while evaluations < stopping.maxEvaluations {
            let h = curvature, g = e.gradient
            // The damped system. The damping scales with diag(H), floored at 10⁻⁴ of its mean
            // so that a direction the curvature misses is damped too, and a ridge of 10⁻⁶ of
            // the mean keeps the system positive definite.
            var trace = 0.0
            for i in 0..<k { trace += h[i * k + i] }
            let meanDiagonal = max(trace / Double(k), 1e-300)
            var a = h.map { $0 * kappa }
            for i in 0..<k { a[i * k + i] += kappa * (lambda * max(h[i * k + i], 1e-4 * meanDiagonal) + 1e-6 * meanDiagonal) }
            guard let step = choleskySolve(a, g.map { -$0 }) else {
                lambda = max(4 * lambda, 1e-3)
                if lambda > 1e8 { reason = .noProgress; break }
                continue
            }
            let trial = zip(x, step).map { $0 + $1 }
            let size = stopping.stepSize(x, trial)
            let refresh = size > refreshFactor * stopping.tolerance
            let te = evaluate(trial, refresh)
            evaluations += 1
            // Predicted decrease of the (undamped, scaled) quadratic model along the step.
            var hs = [Double](repeating: 0, count: k)
            for i in 0..<k { for j in 0..<k { hs[i] += kappa * h[i * k + j] * step[j] } }
            let predicted = -(dot(g, step) + 0.5 * dot(step, hs))
            let good = te.loss.isFinite && te.loss < e.loss && te.gradient.allSatisfy(\.isFinite)
                && (te.curvature?.allSatisfy(\.isFinite) ?? !refresh)
            if good {
                let rho = predicted > 0 ? (e.loss - te.loss) / predicted : 1
                x = trial
                e = te
                // κ carries over: the approximation's scale error is its own, not the point's.
                if let h = te.curvature { curvature = positiveSemidefinitePart(h, n: k) }
                accepted += 1
                if rho < 0.25 { lambda = max(4 * lambda, 1e-3) } else if rho > 0.75 { lambda /= 3; if lambda < 1e-6 { lambda = 0 } }
                if predicted > 1e-5 * abs(te.loss), rho > 1.2 || rho < 0.8 { kappa = min(4, max(1e-3, kappa * min(2, max(0.5, 2 - rho)))) }
                // A short step counts only when it is close to the undamped model's: heavy damping
                // also makes steps short.
                if size < stopping.tolerance && lambda <= 1 { reason = .converged; break }
            } else {
                // A curvature scaled down too far overshoots: undo that first, then damp.
                if kappa < 1 { kappa = min(1, 2 * kappa) } else { lambda = max(4 * lambda, 1e-3) }
                if size < stopping.tolerance { reason = .converged; break }
                if lambda > 1e8 { reason = .noProgress; break }
            }
        }
        return Minimization(parameters: x, loss: e.loss, startLoss: startLoss, iterations: accepted,
                            evaluations: evaluations, stopReason: reason)
    }
}

/// BFGS (quasi-Newton, inverse-Hessian update) with a backtracking Armijo line search, for a
/// loss without a Gauss-Newton curvature (mutual information).
///
/// The first direction is the negative gradient scaled to length `initialStep` (in parameter
/// units: refinement passes the level's learning rate); before the first update the inverse
/// Hessian is rescaled by `sᵀy / yᵀy` (Shanno), and an update is skipped when `sᵀy ≤ 0`
/// (the curvature condition fails). Each iteration tries the full step, then halves it up to
/// 8 times until `loss(x + αd) ≤ loss(x) + 10⁻⁴·α·gᵀd`; a direction that is not a descent
/// direction resets the inverse Hessian to the scaled identity. Stops on a step shorter than
/// the tolerance, at the evaluation cap, or when the line search fails from a reset.
public struct BFGS: Minimizer {
    public var initialStep: Double

    public init(initialStep: Double) {
        precondition(initialStep > 0)
        self.initialStep = initialStep
    }

    public func minimize(from start: [Double], stopping: StoppingRule, evaluate: ([Double], Bool) -> Evaluation) -> Minimization {
        let k = start.count
        var x = start
        var e = evaluate(x, false)
        var evaluations = 1, accepted = 0
        let startLoss = e.loss
        guard e.loss.isFinite, e.gradient.allSatisfy(\.isFinite) else {
            return Minimization(parameters: x, loss: e.loss, startLoss: startLoss, iterations: 0, evaluations: 1, stopReason: .nonFinite)
        }
        let g0 = dot(e.gradient, e.gradient).squareRoot()
        var scale = g0 > 0 ? initialStep / g0 : initialStep
        func identity(_ s: Double) -> [Double] {
            var m = [Double](repeating: 0, count: k * k)
            for i in 0..<k { m[i * k + i] = s }
            return m
        }
        var inverse = identity(scale)
        var updated = false, reset = true
        var reason = StopReason.iterationLimit
        search: while evaluations < stopping.maxEvaluations {
            let g = e.gradient
            var d = [Double](repeating: 0, count: k)
            for i in 0..<k { for j in 0..<k { d[i] -= inverse[i * k + j] * g[j] } }
            var slope = dot(g, d)
            if !(slope < 0) {
                inverse = identity(scale); updated = false; reset = true
                for i in 0..<k { d[i] = -scale * g[i] }
                slope = dot(g, d)
                if !(slope < 0) { reason = .converged; break }
            }
            var alpha = 1.0
            for _ in 0...8 {
                let trial = zip(x, d).map { $0 + alpha * $1 }
                let size = stopping.stepSize(x, trial)
                let te = evaluate(trial, false)
                evaluations += 1
                if te.loss.isFinite, te.gradient.allSatisfy(\.isFinite), te.loss <= e.loss + 1e-4 * alpha * slope {
                    let s = zip(trial, x).map { $0 - $1 }, y = zip(te.gradient, g).map { $0 - $1 }
                    let sy = dot(s, y)
                    if sy > 1e-300 {
                        if !updated {
                            scale = sy / dot(y, y)
                            inverse = identity(scale)
                            updated = true
                        }
                        // H⁺ = (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, ρ = 1/sᵀy.
                        let rho = 1 / sy
                        var hy = [Double](repeating: 0, count: k)
                        for i in 0..<k { for j in 0..<k { hy[i] += inverse[i * k + j] * y[j] } }
                        let yhy = dot(y, hy)
                        for i in 0..<k { for j in 0..<k {
                            inverse[i * k + j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j]
                        } }
                    }
                    x = trial
                    e = te
                    accepted += 1
                    reset = false
                    if size < stopping.tolerance { reason = .converged; break search }
                    continue search
                }
                if size < stopping.tolerance { reason = .converged; break search }
                if evaluations >= stopping.maxEvaluations { break search }
                alpha *= 0.5
            }
            // The line search failed: restart from the scaled gradient once, then give up.
            if reset { reason = .noProgress; break }
            inverse = identity(scale); updated = false; reset = true
        }
        return Minimization(parameters: x, loss: e.loss, startLoss: startLoss, iterations: accepted,
                            evaluations: evaluations, stopReason: reason)
    }
}
