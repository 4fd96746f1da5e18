import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter) and global-norm gradient clipping.
///
/// For each parameter tensor `p` with gradient `g` (after clipping, see below), step `t ≥ 1`:
///
///     m ← β₁·m + (1−β₁)·g,   v ← β₂·v + (1−β₂)·g²
///     p ← p − lr · ( m/(1−β₁ᵗ) / (√(v/(1−β₂ᵗ)) + ε)  +  λ·p )      (λ only where `decays`)
///
/// Clipping: if `‖g‖₂` over **all** tensors exceeds `clipNorm`, every gradient is scaled by
/// `clipNorm / ‖g‖₂`. The norm is summed in Double in tensor order: the update is bit-identical
/// between runs. State (moments, step) is Codable so that training can resume exactly.
///
/// Generic over the scalar: the network trains in Float32 (`AdamW<Float>`, ``NetworkOptimizer``),
/// refinement optimises 12 numbers in Double (`AdamW<Double>` with no decay and no clipping).
/// The update is `@inlinable` so that each use is specialised for its scalar.
public struct AdamW<Scalar: BinaryFloatingPoint & Codable & Sendable>: Optimizer, Codable, Equatable, Sendable {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// λ, decoupled (multiplies the learning rate, not the gradient).
    public var weightDecay: Double
    /// Global gradient norm limit; nil disables clipping.
    public var clipNorm: Double?
    /// Steps taken so far (state: read it, do not set it).
    public var step: Int
    /// First and second moment estimates, one array per tensor (state: read them, do not set them).
    public var firstMoments: [[Scalar]]
    public var secondMoments: [[Scalar]]

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 1e-4, clipNorm: Double? = 1.0) {
        precondition(learningRate >= 0 && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && epsilon > 0 && weightDecay >= 0,
                     "AdamW: hyper-parameters out of range")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.clipNorm = clipNorm
        step = 0
        firstMoments = []
        secondMoments = []
    }

    /// `‖g‖₂` over all tensors (Double, in order).
    @inlinable
    public static func globalNorm(_ gradients: [[Scalar]]) -> Double {
        var s = 0.0
        for g in gradients { for v in g { s += Double(v) * Double(v) } }
        return s.squareRoot()
    }

    /// One update of `parameters` in place. `decays[i]` says whether tensor `i` gets weight
    /// decay (weights yes; biases and normalisation scale/shift usually not).
    /// Returns the gradient norm before clipping.
    @inlinable @discardableResult
    public mutating func update(_ parameters: inout [[Scalar]], gradients: [[Scalar]], decays: [Bool]) -> Double {
        precondition(parameters.count == gradients.count && decays.count == parameters.count, "AdamW: tensor counts differ")
        for i in parameters.indices {
            precondition(parameters[i].count == gradients[i].count, "AdamW: tensor \(i) sizes differ")
        }
        if firstMoments.isEmpty {
            firstMoments = parameters.map { [Scalar](repeating: 0, count: $0.count) }
            secondMoments = firstMoments
        }
        precondition(firstMoments.map(\.count) == parameters.map(\.count), "AdamW: parameter layout changed between steps")
        let norm = AdamW.globalNorm(gradients)
        var clip: Scalar = 1
        if let c = clipNorm, norm > c, norm > 0 { clip = Scalar(c / norm) }
        step += 1
        let b1 = Scalar(beta1), b2 = Scalar(beta2)
        let c1 = Scalar(1 / (1 - pow(beta1, Double(step)))), c2 = Scalar(1 / (1 - pow(beta2, Double(step))))
        let lr = Scalar(learningRate), eps = Scalar(epsilon), wd = Scalar(weightDecay)
        for i in parameters.indices {
            let decay: Scalar = decays[i] ? wd : 0
            for e in parameters[i].indices {
                let g = gradients[i][e] * clip
                let m = b1 * firstMoments[i][e] + (1 - b1) * g
                let v = b2 * secondMoments[i][e] + (1 - b2) * g * g
                firstMoments[i][e] = m
                secondMoments[i][e] = v
                let p = parameters[i][e]
                parameters[i][e] = p - lr * ((m * c1) / ((v * c2).squareRoot() + eps) + decay * p)
            }
        }
        return norm
    }
}
