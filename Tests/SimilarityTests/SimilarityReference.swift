import Foundation
import VolumeCore

/// Naive Double references for the similarity tests.
enum SimilarityReference {
    static func randomArray(_ count: Int, seed: UInt64, lo: Double = 0, hi: Double = 1) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(rng.uniform(lo, hi)) }
    }

    /// Weighted Pearson correlation, two-pass, in Double.
    static func globalNCC(_ x: [Double], _ a: [Double], _ w: [Double]) -> Double {
        let sw = w.reduce(0, +)
        let mx = zip(w, x).map { $0 * $1 }.reduce(0, +) / sw
        let ma = zip(w, a).map { $0 * $1 }.reduce(0, +) / sw
        var c = 0.0, vx = 0.0, va = 0.0
        for n in 0..<x.count {
            c += w[n] * (x[n] - mx) * (a[n] - ma); vx += w[n] * (x[n] - mx) * (x[n] - mx); va += w[n] * (a[n] - ma) * (a[n] - ma)
        }
        return c / (vx * va).squareRoot()
    }

    /// Direct sums over the clipped (2r+1)³ window, and the window counts.
    static func boxSums(_ v: [Double], dims d: SIMD3<Int>, radius r: Int) -> (sums: [Double], counts: [Double]) {
        var sums = [Double](repeating: 0, count: v.count), counts = sums
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
            var s = 0.0, c = 0.0
            for kk in max(0, k - r)...min(d.z - 1, k + r) { for jj in max(0, j - r)...min(d.y - 1, j + r) {
                for ii in max(0, i - r)...min(d.x - 1, i + r) { s += v[ii + d.x * (jj + d.y * kk)]; c += 1 }
            } }
            sums[i + d.x * (j + d.y * k)] = s; counts[i + d.x * (j + d.y * k)] = c
        } } }
        return (sums, counts)
    }

    /// LNCC straight from the definition: mean over voxels (weights w) of cross²/(varI·varJ + ε).
    static func localNCC(_ x: [Double], _ a: [Double], dims d: SIMD3<Int>, radius r: Int, epsilon: Double, weights w: [Double]?) -> Double {
        var total = 0.0, sw = 0.0
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
            var sI = 0.0, sJ = 0.0, sII = 0.0, sJJ = 0.0, sIJ = 0.0, n = 0.0
            for kk in max(0, k - r)...min(d.z - 1, k + r) { for jj in max(0, j - r)...min(d.y - 1, j + r) {
                for ii in max(0, i - r)...min(d.x - 1, i + r) {
                    let p = ii + d.x * (jj + d.y * kk)
                    sI += x[p]; sJ += a[p]; sII += x[p] * x[p]; sJJ += a[p] * a[p]; sIJ += x[p] * a[p]; n += 1
                }
            } }
            let cross = sIJ - sI * sJ / n, vI = sII - sI * sI / n, vJ = sJJ - sJ * sJ / n
            let weight = w?[i + d.x * (j + d.y * k)] ?? 1
            total += weight * cross * cross / (vI * vJ + epsilon); sw += weight
        } } }
        return total / sw
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Double]) -> Double {
        zip(a, b).map { abs(Double($0) - $1) }.max()!
    }
}

extension Array where Element == Float {
    var bits: [UInt32] { map(\.bitPattern) }
    var doubles: [Double] { map(Double.init) }
}
