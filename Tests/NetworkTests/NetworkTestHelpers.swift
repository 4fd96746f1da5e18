import Network
import TestSupport
import VolumeCore

/// Shared helpers: seeded tensors and a scalar test loss `L = Σ r · y` (Double) whose
/// gradient w.r.t. `y` is `r`.
enum NetHelp {
    static func random(_ shape: TensorShape5, seed: UInt64, lo: Double = -1, hi: Double = 1) -> Tensor5 {
        var rng = SeededGenerator(seed: seed)
        return Tensor5(shape: shape, values: (0..<shape.count).map { _ in Float(rng.uniform(lo, hi)) })
    }

    static func randomArray(_ n: Int, seed: UInt64, lo: Double = -1, hi: Double = 1) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Float(rng.uniform(lo, hi)) }
    }

    static func loss(_ y: Tensor5, _ r: Tensor5) -> Double {
        var s = 0.0
        for q in 0..<y.values.count { s += Double(y.values[q]) * Double(r.values[q]) }
        return s
    }

    /// Central-difference gradient of `f` at the Float vector `x` (evaluated through Float).
    static func numerical(_ x: [Float], h: Double, indices: [Int]? = nil, _ f: ([Float]) -> Double) -> [Double] {
        let idx = indices ?? Array(x.indices)
        var out: [Double] = []
        var xp = x
        for n in idx {
            xp[n] = Float(Double(x[n]) + h); let fp = f(xp)
            xp[n] = Float(Double(x[n]) - h); let fm = f(xp)
            let step = Double(Float(Double(x[n]) + h)) - Double(Float(Double(x[n]) - h))
            xp[n] = x[n]
            out.append((fp - fm) / step)
        }
        return out
    }

    static func doubles(_ a: [Float], _ indices: [Int]? = nil) -> [Double] {
        (indices ?? Array(a.indices)).map { Double(a[$0]) }
    }
}
