import Foundation
import Testing
import TestSupport
import VolumeCore
import FFT

struct CrossCorrelationTests {
    /// Float32 FFT round-off on sums of ~200 products of values in [−1, 1].
    static let tolerance = 1e-4

    @Test func cyclicMatchesDirectSumForEveryShift() {
        let dims = SIMD3(6, 5, 7)
        let a = FFTReference.randomArray(dims, seed: 1), b = FFTReference.randomArray(dims, seed: 2)
        let fast = crossCorrelation(a, b, dims: dims, threads: 1)
        let naive = FFTReference.cyclicCorrelation(a, b, dims: dims)
        let worst = zip(fast, naive).map { abs(Double($0) - $1) }.max()!
        #expect(worst < Self.tolerance)
    }

    @Test func linearMatchesDirectSumOverOverlaps() {
        let da = SIMD3(4, 3, 5), db = SIMD3(5, 4, 3)
        let a = FFTReference.randomArray(da, seed: 3), b = FFTReference.randomArray(db, seed: 4)
        let map = linearCrossCorrelation(a, aDims: da, b, bDims: db, threads: 1)
        #expect(map.minShift == SIMD3(-3, -2, -4))
        #expect(map.maxShift == SIMD3(4, 3, 2))
        var worst = 0.0
        for n in 0..<map.values.count {
            let s = map.shift(at: n)
            var sum = 0.0
            for k in 0..<da.z { for j in 0..<da.y { for i in 0..<da.x {
                let p = SIMD3(i, j, k) &+ s
                guard p.x >= 0, p.y >= 0, p.z >= 0, p.x < db.x, p.y < db.y, p.z < db.z else { continue }
                sum += Double(a[FFTReference.index(i, j, k, da)]) * Double(b[FFTReference.index(p.x, p.y, p.z, db)])
            } } }
            worst = max(worst, abs(Double(map.values[n]) - sum))
        }
        #expect(worst < Self.tolerance)
    }

    @Test func peakIsAtTheShiftOfTheCopy() {
        // b(x + s) = a(x) cyclically ⇒ the peak of c is at s.
        let dims = SIMD3(8, 6, 5), s = SIMD3(3, 4, 1)
        let a = FFTReference.randomArray(dims, seed: 5)
        var b = a
        for k in 0..<dims.z { for j in 0..<dims.y { for i in 0..<dims.x {
            b[FFTReference.index((i + s.x) % dims.x, (j + s.y) % dims.y, (k + s.z) % dims.z, dims)] = a[FFTReference.index(i, j, k, dims)]
        } } }
        let c = crossCorrelation(a, b, dims: dims)
        let peak = c.indices.max { c[$0] < c[$1] }!
        #expect(peak == FFTReference.index(s.x, s.y, s.z, dims))
    }

    @Test func identicalBitsForOneAndTwoThreads() {
        let dims = SIMD3(9, 8, 7)
        let a = FFTReference.randomArray(dims, seed: 6), b = FFTReference.randomArray(dims, seed: 7)
        #expect(crossCorrelation(a, b, dims: dims, threads: 1).bits == crossCorrelation(a, b, dims: dims, threads: 2).bits)
    }
}
