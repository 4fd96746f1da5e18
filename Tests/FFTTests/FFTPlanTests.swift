import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import FFT

struct FFTPlanTests {
    /// Round-off allowed for a Float32 transform of a few hundred values of size ≤ 1.
    static let roundTripTolerance: Float = 1e-5
    static let dftTolerance = 1e-4

    @Test(arguments: [SIMD3(6, 5, 7), SIMD3(7, 4, 3), SIMD3(1, 1, 9), SIMD3(16, 16, 16)])
    func roundTripRestoresTheArray(dims: SIMD3<Int>) {
        let x = FFTReference.randomArray(dims, seed: 11)
        let plan = RealFFT3D(dims: dims)
        let back = plan.inverse(plan.forward(x))
        let worst = zip(x, back).map { abs($0 - $1) }.max()!
        #expect(worst < Self.roundTripTolerance)
    }

    @Test(arguments: [SIMD3(4, 3, 5), SIMD3(5, 2, 3)])
    func forwardMatchesTheNaiveDFT(dims: SIMD3<Int>) {
        let x = FFTReference.randomArray(dims, seed: 12)
        let fast = RealFFT3D(dims: dims).forward(x)
        let naive = FFTReference.dft(x, dims: dims)
        #expect(fast.values.count == naive.count)
        #expect(fast.dims == dims)
        let worst = zip(fast.values, naive).map { max(abs(Double($0.x) - $1.x), abs(Double($0.y) - $1.y)) }.max()!
        #expect(worst < Self.dftTolerance)
    }

    @Test func spectrumLayoutKeepsTheHalfAlongI() {
        let plan = RealFFT3D(dims: SIMD3(6, 5, 4))
        #expect(plan.spectrumDims == SIMD3(4, 5, 4))
        // A constant array has all its energy in the zero bin: X[0] = Σ x = N·c.
        let s = plan.forward([Float](repeating: 2, count: 120))
        #expect(abs(s.values[0].x - 240) < Float(Tolerance.float32FFT))
        #expect(s.values.dropFirst().allSatisfy { abs($0.x) < Float(Tolerance.float32FFT) && abs($0.y) < Float(Tolerance.float32FFT) })
    }

    @Test func repeatedTransformsGiveIdenticalBits() {
        let dims = SIMD3(12, 10, 9)
        let x = FFTReference.randomArray(dims, seed: 13)
        let a = RealFFT3D(dims: dims), b = RealFFT3D(dims: dims)
        #expect(a.forward(x) == b.forward(x))
        #expect(a.forward(x) == a.forward(x))
        #expect(a.inverse(a.forward(x)).bits == b.inverse(b.forward(x)).bits)
    }

    @Test func cacheReusesPlansByShape() {
        let cache = FFTPlanCache()
        let x = FFTReference.randomArray(SIMD3(4, 4, 4), seed: 14)
        for _ in 0..<3 { _ = cache.withPlan(dims: SIMD3(4, 4, 4)) { $0.forward(x) } }
        #expect(cache.plansCreated == 1)
        _ = cache.withPlan(dims: SIMD3(4, 4, 5)) { $0.realCount }
        #expect(cache.plansCreated == 2)
        // A plan lent out is not lent again: a nested call for the same shape gets another.
        cache.withPlan(dims: SIMD3(4, 4, 4)) { outer in
            cache.withPlan(dims: SIMD3(4, 4, 4)) { inner in #expect(outer !== inner) }
        }
        #expect(cache.plansCreated == 3)
    }

    @Test func parallelTransformsMatchSerialBits() {
        let dims = SIMD3(10, 9, 8)
        let arrays = (0..<6).map { FFTReference.randomArray(dims, seed: 20 + UInt64($0)) }
        let serial = forwardTransforms(arrays, dims: dims, threads: 1)
        let parallel = forwardTransforms(arrays, dims: dims, threads: 2)
        #expect(serial == parallel)
        #expect(inverseTransforms(serial, dims: dims, threads: 1).map(\.bits)
                == inverseTransforms(parallel, dims: dims, threads: 2).map(\.bits))
    }

    @Test func goodSizesHaveOnlySmallPrimeFactors() {
        #expect(FFTPadding.goodSize(atLeast: 1) == 1)
        #expect(FFTPadding.goodSize(atLeast: 11) == 12)
        #expect(FFTPadding.goodSize(atLeast: 17) == 18)
        #expect(FFTPadding.goodSize(atLeast: 127) == 128)
        #expect(FFTPadding.goodSize(atLeast: 136) == 140)
        #expect(FFTPadding.linearCorrelationDims(SIMD3(6, 5, 7), SIMD3(5, 6, 4)) == SIMD3(10, 10, 10))
    }

    @Test func padThenCropRestores() {
        let dims = SIMD3(3, 4, 2)
        let x = FFTReference.randomArray(dims, seed: 15)
        let p = FFTPadding.zeroPadded(x, dims: dims, to: SIMD3(5, 6, 4))
        #expect(p.count == 120)
        #expect(FFTPadding.cropped(p, from: SIMD3(5, 6, 4), dims: dims) == x)
        #expect(p.reduce(0, +) == x.reduce(0, +))
    }
}
