import Foundation

/// The optimiser seam: one update of a set of parameter tensors from their gradients.
///
/// Refinement (12 transform parameters, Double) and training (the network's tensors, Float)
/// minimise through this one interface; ``AdamW`` implements it. The learning rate is set by the
/// caller before each update (usually from a ``CosineSchedule``). Updates are deterministic:
/// the same parameters, gradients and state give the same bits.
public protocol Optimizer: Sendable {
    associatedtype Scalar: BinaryFloatingPoint
    /// Step size of the next update.
    var learningRate: Double { get set }
    /// Updates `parameters` in place from `gradients` (same shapes); `decays[i]` says whether
    /// tensor `i` receives weight decay, where the optimiser has any. Returns the gradient norm.
    @discardableResult
    mutating func update(_ parameters: inout [[Scalar]], gradients: [[Scalar]], decays: [Bool]) -> Double
}

/// Cosine decay of a learning rate from `base` to `floor × base` over `steps` steps:
///
///     rate(t) = base · (floor + (1 − floor) · ½ · (1 + cos(π · t / steps)))
///
/// Used by refinement (per level, over its iterations) and by training (over the run).
public struct CosineSchedule: Sendable, Equatable {
    public var base: Double
    /// Fraction of `base` reached at the last step.
    public var floor: Double

    public init(base: Double, floor: Double = 0.1) {
        precondition(base >= 0 && floor >= 0 && floor <= 1, "CosineSchedule: base ≥ 0 and 0 ≤ floor ≤ 1")
        self.base = base
        self.floor = floor
    }

    /// The rate at step `step` of `steps` (`steps` < 1 counts as 1).
    public func rate(step: Int, of steps: Int) -> Double {
        let progress = Double(step) / Double(max(1, steps))
        return base * (floor + (1 - floor) * 0.5 * (1 + cos(Double.pi * progress)))
    }
}
