import Foundation
import VolumeCore

/// Naive references for the FFT tests (Double, direct sums).
enum FFTReference {
    static func randomArray(_ dims: SIMD3<Int>, seed: UInt64, lo: Double = -1, hi: Double = 1) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(dims.x * dims.y * dims.z)).map { _ in Float(rng.uniform(lo, hi)) }
    }

    static func index(_ i: Int, _ j: Int, _ k: Int, _ d: SIMD3<Int>) -> Int { i + d.x * (j + d.y * k) }

    /// The DFT `X[u] = Σ_x x[x] exp(−2πi Σ u_d x_d / n_d)` at the half-spectrum bins.
    static func dft(_ x: [Float], dims d: SIMD3<Int>) -> [SIMD2<Double>] {
        var out: [SIMD2<Double>] = []
        for w in 0..<d.z {
            for v in 0..<d.y {
                for u in 0...(d.x / 2) {
                    var re = 0.0, im = 0.0
                    for k in 0..<d.z {
                        for j in 0..<d.y {
                            for i in 0..<d.x {
                                let phase = -2 * Double.pi * (Double(u * i) / Double(d.x) + Double(v * j) / Double(d.y) + Double(w * k) / Double(d.z))
                                let value = Double(x[index(i, j, k, d)])
                                re += value * cos(phase); im += value * sin(phase)
                            }
                        }
                    }
                    out.append(SIMD2(re, im))
                }
            }
        }
        return out
    }

    /// `c[s] = Σ_x a[x]·b[(x + s) mod d]`, stored at `s mod d`.
    static func cyclicCorrelation(_ a: [Float], _ b: [Float], dims d: SIMD3<Int>) -> [Double] {
        var c = [Double](repeating: 0, count: a.count)
        for sk in 0..<d.z { for sj in 0..<d.y { for si in 0..<d.x {
            var sum = 0.0
            for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
                sum += Double(a[index(i, j, k, d)]) * Double(b[index((i + si) % d.x, (j + sj) % d.y, (k + sk) % d.z, d)])
            } } }
            c[index(si, sj, sk, d)] = sum
        } } }
        return c
    }

    /// Weighted Pearson correlation of `f(x)` and `m(x + s)` over `w = mf(x)·mm(x + s)`, and the overlap `Σ w`.
    static func maskedPearson(fixed f: [Float], fixedMask mf: [Float], fixedDims df: SIMD3<Int>,
                              moving m: [Float], movingMask mm: [Float], movingDims dm: SIMD3<Int>,
                              shift s: SIMD3<Int>) -> (ncc: Double, overlap: Double, varF: Double, varM: Double) {
        var sw = 0.0, sf = 0.0, sm = 0.0
        var terms: [(Double, Double, Double)] = []
        for k in 0..<df.z { for j in 0..<df.y { for i in 0..<df.x {
            let p = SIMD3(i, j, k) &+ s
            guard p.x >= 0, p.y >= 0, p.z >= 0, p.x < dm.x, p.y < dm.y, p.z < dm.z else { continue }
            let w = Double(mf[index(i, j, k, df)]) * Double(mm[index(p.x, p.y, p.z, dm)])
            guard w > 0 else { continue }
            let fv = Double(f[index(i, j, k, df)]), mv = Double(m[index(p.x, p.y, p.z, dm)])
            terms.append((w, fv, mv)); sw += w; sf += w * fv; sm += w * mv
        } } }
        guard sw > 0 else { return (0, 0, 0, 0) }
        let mfBar = sf / sw, mmBar = sm / sw
        var cov = 0.0, vf = 0.0, vm = 0.0
        for (w, fv, mv) in terms {
            cov += w * (fv - mfBar) * (mv - mmBar); vf += w * (fv - mfBar) * (fv - mfBar); vm += w * (mv - mmBar) * (mv - mmBar)
        }
        return (vf > 0 && vm > 0 ? cov / (vf * vm).squareRoot() : 0, sw, vf, vm)
    }
}

extension Array where Element == Float {
    /// Bit patterns, for exact comparisons.
    var bits: [UInt32] { map(\.bitPattern) }
}
