import Foundation
import Testing
import TestSupport
import VolumeCore
import FFT

struct MaskedNCCTests {
    /// NCC error from Float32 FFT sums on tiny random volumes.
    static let nccTolerance = 2e-3
    /// The windowed map against the full map at the same shift: the same sums through Float32
    /// FFTs of two sizes, so only their round-off differs (measured 6e-8 on this machine; 1e-4
    /// leaves three orders of magnitude for another CPU's FFTW codelets).
    static let windowTolerance: Float = 1e-4

    static func randomMask(_ dims: SIMD3<Int>, seed: UInt64, keep: Double) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(dims.x * dims.y * dims.z)).map { _ in rng.uniform(0, 1) < keep ? 1 : 0 }
    }

    @Test func mapMatchesDirectMaskedPearsonAtEveryShift() {
        let df = SIMD3(6, 5, 7), dm = SIMD3(5, 6, 4)
        let f = FFTReference.randomArray(df, seed: 31, lo: 0, hi: 10), m = FFTReference.randomArray(dm, seed: 32, lo: 5, hi: 6)
        let mf = Self.randomMask(df, seed: 33, keep: 0.8), mm = Self.randomMask(dm, seed: 34, keep: 0.7)
        let options = MaskedNCCOptions(minimumOverlapFraction: 0.1)
        let r = maskedNCC(fixed: f, fixedMask: mf, fixedDims: df, moving: m, movingMask: mm, movingDims: dm,
                          options: options, threads: 1)
        #expect(r.ncc.minShift == SIMD3(-5, -4, -6))
        #expect(r.ncc.dims == SIMD3(10, 10, 10))
        var checked = 0
        for n in 0..<r.ncc.values.count {
            let s = r.ncc.shift(at: n)
            let ref = FFTReference.maskedPearson(fixed: f, fixedMask: mf, fixedDims: df, moving: m, movingMask: mm, movingDims: dm, shift: s)
            #expect(abs(Double(r.overlap.values[n]) - ref.overlap) < Tolerance.float32FFT)
            if ref.overlap < r.minimumOverlap {
                #expect(r.ncc.values[n] == 0)
            } else {
                #expect(abs(Double(r.ncc.values[n]) - ref.ncc) < Self.nccTolerance, "shift \(s)")
                checked += 1
            }
        }
        #expect(checked > 100)
        // The best is the maximum of the qualifying shifts.
        let best = try! #require(r.bestShift)
        #expect(r.ncc[best] == r.bestNCC)
        #expect(r.bestNCC == r.ncc.values.max())
    }

    @Test func recoversAKnownShiftWithPartialOverlapAndDifferentMasks() throws {
        // Two crops of one phantom: fixed(x) = big(x + of), moving(y) = big(y + om),
        // so moving(x + s) = fixed(x) for s = of − om.
        let big = Phantom.blobs(grid: Grid(dims: SIMD3(20, 20, 20), spacingMM: SIMD3(2, 2, 2)))
        let df = SIMD3(16, 16, 16), dm = SIMD3(14, 16, 12)
        let of = SIMD3(3, 1, 4), om = SIMD3(0, 3, 2)
        func crop(_ o: SIMD3<Int>, _ d: SIMD3<Int>) -> [Float] {
            FFTPadding.cropped(big.voxels, from: big.dims, origin: o, dims: d)
        }
        let f = crop(of, df), m = crop(om, dm)
        // Fixed mask: a ball; moving mask: everything but a slab.
        var mf = [Float](repeating: 0, count: f.count)
        for k in 0..<df.z { for j in 0..<df.y { for i in 0..<df.x {
            let d = SIMD3<Double>(Double(i) - 7.5, Double(j) - 7.5, Double(k) - 7.5)
            mf[FFTReference.index(i, j, k, df)] = (d * d).sum() < 49 ? 1 : 0
        } } }
        var mm = [Float](repeating: 1, count: m.count)
        for k in 0..<dm.z { for j in 0..<dm.y { for i in 10..<dm.x { mm[FFTReference.index(i, j, k, dm)] = 0 } } }
        for threads in [1, 2] {
            let r = maskedNCC(fixed: f, fixedMask: mf, fixedDims: df, moving: m, movingMask: mm, movingDims: dm, threads: threads)
            let best = try #require(r.bestShift)
            #expect(best == of &- om)
            #expect(r.bestNCC > 0.999)
        }
    }

    @Test func bestShiftGivesTheWorldTranslationOfAtlasToScan() throws {
        // One phantom on a world grid; atlas and scan are crops with different origins, so
        // atlasToScan is the identity: scan(T·p) = atlas(p) at every world point p.
        let spacing = SIMD3<Double>(2, 2, 2)
        let big = Phantom.blobs(grid: Grid(dims: SIMD3(20, 20, 20), spacingMM: spacing, origin: SIMD3(-10, 5, 0)))
        let da = SIMD3(14, 14, 14), ds = SIMD3(12, 14, 13)
        let oa = SIMD3(4, 2, 3), os = SIMD3(1, 4, 0)
        let atlasGrid = Grid(dims: da, spacingMM: spacing, origin: big.grid.voxelToWorld.apply(SIMD3<Double>(oa)))
        let scanGrid = Grid(dims: ds, spacingMM: spacing, origin: big.grid.voxelToWorld.apply(SIMD3<Double>(os)))
        let atlas = FFTPadding.cropped(big.voxels, from: big.dims, origin: oa, dims: da)
        let scan = FFTPadding.cropped(big.voxels, from: big.dims, origin: os, dims: ds)
        let r = maskedNCC(fixed: atlas, fixedMask: nil, fixedDims: da, moving: scan, movingMask: nil, movingDims: ds)
        let s = try #require(r.bestShift)
        #expect(s == oa &- os)
        let t = worldTranslation(ofShift: s, fixedGrid: atlasGrid, movingGrid: scanGrid)
        #expect(maxAbs(t) < Tolerance.float64MatrixAlgebra)
    }

    @Test func tinyOverlapsNeverWin() {
        let dims = SIMD3(8, 8, 8)
        let f = FFTReference.randomArray(dims, seed: 41), m = FFTReference.randomArray(dims, seed: 42)
        let r = maskedNCC(fixed: f, fixedMask: nil, fixedDims: dims, moving: m, movingMask: nil, movingDims: dims,
                          options: MaskedNCCOptions(minimumOverlapFraction: 0.3))
        #expect(r.minimumOverlap == 0.3 * 512)
        let best = r.bestShift!
        #expect(Double(r.overlap[best]) >= r.minimumOverlap)
        // Corner shifts overlap in one voxel: excluded, NCC reported as 0.
        #expect(r.ncc[SIMD3(7, 7, 7)] == 0)
        #expect(r.ncc[SIMD3(-7, -7, -7)] == 0)
    }

    @Test func maximumShiftLimitsTheSearch() {
        let big = Phantom.blobs(grid: Grid(dims: SIMD3(16, 16, 16), spacingMM: SIMD3(2, 2, 2)))
        let dims = SIMD3(12, 12, 12)
        let f = FFTPadding.cropped(big.voxels, from: big.dims, origin: SIMD3(4, 0, 0), dims: dims)
        let m = FFTPadding.cropped(big.voxels, from: big.dims, origin: .zero, dims: dims)
        let free = maskedNCC(fixed: f, fixedMask: nil, fixedDims: dims, moving: m, movingMask: nil, movingDims: dims)
        #expect(free.bestShift == SIMD3(4, 0, 0))
        let limited = maskedNCC(fixed: f, fixedMask: nil, fixedDims: dims, moving: m, movingMask: nil, movingDims: dims,
                                options: MaskedNCCOptions(maximumShift: SIMD3(2, 2, 2)))
        let s = limited.bestShift!
        #expect(abs(s.x) <= 2 && abs(s.y) <= 2 && abs(s.z) <= 2)
    }

    @Test func emptyMaskGivesNoBestShift() {
        let dims = SIMD3(4, 4, 4)
        let f = FFTReference.randomArray(dims, seed: 43)
        let r = maskedNCC(fixed: f, fixedMask: [Float](repeating: 0, count: 64), fixedDims: dims,
                          moving: f, movingMask: nil, movingDims: dims)
        #expect(r.bestShift == nil)
        #expect(r.ncc.values.allSatisfy { $0 == 0 })
    }

    @Test func preparedFixedSideGivesTheSameBitsForEachMovingImage() {
        let df = SIMD3(7, 6, 5), dm = SIMD3(6, 6, 4)
        let f = FFTReference.randomArray(df, seed: 47), mf = Self.randomMask(df, seed: 48, keep: 0.7)
        let search = MaskedNCCSearch(fixed: f, fixedMask: mf, fixedDims: df, movingDims: dm, threads: 1)
        #expect(search.paddedDims == SIMD3(12, 12, 8))
        for seed in [49, 50] as [UInt64] {
            let m = FFTReference.randomArray(dm, seed: seed)
            let prepared = search.search(moving: m, movingMask: nil, threads: 2)
            let direct = maskedNCC(fixed: f, fixedMask: mf, fixedDims: df, moving: m, movingMask: nil, movingDims: dm, threads: 1)
            #expect(prepared.ncc.values.bits == direct.ncc.values.bits)
            #expect(prepared.bestShift == direct.bestShift)
        }
    }

    /// A shift window computes only the shifts `|s| ≤ window` on a smaller FFT (period
    /// ≥ max(dims) + window, so nothing folds into the window). Oracle: the direct masked
    /// Pearson correlation at every shift of the window (the full map's test tolerance), the
    /// full map's values there to Float32 FFT round-off, and the same best shift under the
    /// same limit. One window clamps to the arrays on an axis where they are shorter.
    @Test func aShiftWindowComputesTheWindowsShiftsOnASmallerTransform() throws {
        let df = SIMD3(14, 12, 13), dm = SIMD3(13, 14, 11)
        let f = FFTReference.randomArray(df, seed: 51, lo: 0, hi: 10), m = FFTReference.randomArray(dm, seed: 52, lo: 2, hi: 7)
        let mf = Self.randomMask(df, seed: 53, keep: 0.8), mm = Self.randomMask(dm, seed: 54, keep: 0.75)
        let window = SIMD3(3, 4, 20)
        let windowed = MaskedNCCSearch(fixed: f, fixedMask: mf, fixedDims: df, movingDims: dm, shiftWindow: window, threads: 1)
        let full = MaskedNCCSearch(fixed: f, fixedMask: mf, fixedDims: df, movingDims: dm, threads: 1)
        #expect(windowed.minShift == SIMD3(-3, -4, -12) && windowed.mapDims == SIMD3(7, 9, 23))
        #expect(full.paddedDims == FFTPadding.linearCorrelationDims(df, dm))
        #expect(windowed.paddedDims.x < full.paddedDims.x && windowed.paddedDims.y < full.paddedDims.y)
        #expect(windowed.paddedDims.z == full.paddedDims.z)   // the window covers every z shift
        let options = MaskedNCCOptions(minimumOverlapFraction: 0.1, maximumShift: window)
        let w = windowed.search(moving: m, movingMask: mm, options: options, threads: 2)
        let r = full.search(moving: m, movingMask: mm, options: options, threads: 2)
        #expect(w.ncc.minShift == windowed.minShift && w.ncc.dims == windowed.mapDims)
        var checked = 0
        for n in 0..<w.ncc.values.count {
            let s = w.ncc.shift(at: n)
            #expect(abs(Double(w.overlap.values[n] - r.overlap[s])) < Tolerance.float32FFT)
            #expect(abs(w.ncc.values[n] - r.ncc[s]) < Self.windowTolerance, "shift \(s)")
            let ref = FFTReference.maskedPearson(fixed: f, fixedMask: mf, fixedDims: df, moving: m, movingMask: mm, movingDims: dm, shift: s)
            if ref.overlap >= w.minimumOverlap {
                #expect(abs(Double(w.ncc.values[n]) - ref.ncc) < Self.nccTolerance, "shift \(s)")
                checked += 1
            }
        }
        #expect(checked > 500)
        // The best shift leads the next by far more than any CPU's round-off (measured 0.018),
        // so the two maps cannot disagree on it.
        let ranked = w.ncc.values.sorted(by: >)
        try #require(ranked[0] - ranked[1] > 10 * Self.windowTolerance)
        #expect(try #require(w.bestShift) == r.bestShift)
    }

    @Test func identicalBitsForOneAndTwoThreads() {
        let df = SIMD3(9, 7, 8), dm = SIMD3(7, 8, 6)
        let f = FFTReference.randomArray(df, seed: 44), m = FFTReference.randomArray(dm, seed: 45)
        let mf = Self.randomMask(df, seed: 46, keep: 0.6)
        let a = maskedNCC(fixed: f, fixedMask: mf, fixedDims: df, moving: m, movingMask: nil, movingDims: dm, threads: 1)
        let b = maskedNCC(fixed: f, fixedMask: mf, fixedDims: df, moving: m, movingMask: nil, movingDims: dm, threads: 2)
        #expect(a.ncc.values.bits == b.ncc.values.bits)
        #expect(a.overlap.values.bits == b.overlap.values.bits)
        #expect(a.bestShift == b.bestShift)
    }
}
