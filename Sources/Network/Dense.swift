import VolumeCore

/// A fully connected layer on feature vectors: (N, in, 1, 1, 1) → (N, out, 1, 1, 1),
///
///     y[n, o] = bias[o] + Σ_i w[o, i] · x[n, i]
///
/// `weights`: `out · in` values, row-major (out, in); `bias`: `out` values.
/// Sums run sequentially in index order (Float).
public struct Dense: Sendable, Equatable {
    public let inputs: Int
    public let outputs: Int
    public var weights: [Float]
    public var bias: [Float]

    public init(inputs: Int, outputs: Int, weights: [Float], bias: [Float]) {
        precondition(inputs > 0 && outputs > 0, "Dense: sizes must be positive")
        precondition(weights.count == inputs * outputs && bias.count == outputs, "Dense: parameter counts")
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.bias = bias
    }

    /// All weights and biases zero: the layer outputs exactly 0 for every input.
    public static func zeros(inputs: Int, outputs: Int) -> Dense {
        Dense(inputs: inputs, outputs: outputs, weights: [Float](repeating: 0, count: inputs * outputs),
              bias: [Float](repeating: 0, count: outputs))
    }

    /// He normal weights `N(0, 2 / ((1 + slope²) · inputs))`, zero bias.
    public init(inputs: Int, outputs: Int, leakySlope slope: Float, using rng: inout SeededGenerator) {
        let std = (2 / ((1 + Double(slope * slope)) * Double(inputs))).squareRoot()
        self.init(inputs: inputs, outputs: outputs,
                  weights: (0..<(inputs * outputs)).map { _ in Float(std * rng.gaussian()) },
                  bias: [Float](repeating: 0, count: outputs))
    }

    public func forward(_ x: Tensor5) -> Tensor5 {
        precondition(x.shape == .vector(batch: x.shape.batch, channels: inputs), "Dense: input shape \(x.shape), expected (N, \(inputs), 1, 1, 1)")
        var y = Tensor5(zeros: .vector(batch: x.shape.batch, channels: outputs))
        for n in 0..<x.shape.batch {
            for o in 0..<outputs {
                var s = bias[o]
                for i in 0..<inputs { s += weights[o * inputs + i] * x.values[n * inputs + i] }
                y.values[n * outputs + o] = s
            }
        }
        return y
    }

    /// `∂L/∂x = dy · W`, `∂L/∂W = dyᵀ · x`, `∂L/∂b = Σ_n dy`.
    public func backward(input x: Tensor5, outputGradient dy: Tensor5) -> (input: Tensor5, weights: [Float], bias: [Float]) {
        let batch = x.shape.batch
        precondition(dy.shape == .vector(batch: batch, channels: outputs), "Dense.backward: dy shape")
        var dx = Tensor5(zeros: x.shape)
        var dw = [Float](repeating: 0, count: inputs * outputs), db = [Float](repeating: 0, count: outputs)
        for n in 0..<batch {
            for o in 0..<outputs {
                let g = dy.values[n * outputs + o]
                db[o] += g
                for i in 0..<inputs {
                    dw[o * inputs + i] += g * x.values[n * inputs + i]
                    dx.values[n * inputs + i] += g * weights[o * inputs + i]
                }
            }
        }
        return (dx, dw, db)
    }
}
