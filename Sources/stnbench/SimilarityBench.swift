import Dispatch
import FFT
import Foundation
import Similarity
import VolumeCore

/// Windowed sums by FFT convolution vs separable running sums, an r2c + c2r round trip,
/// LNCC evaluations and the masked-NCC translation search. Median of `runs` (≥ 5) timed
/// runs after one warm-up; build with `-c release`.
func runSimilarityBenchmark(runs: Int = 7) {
    let runs = max(5, runs)
    let threads = ThreadPolicy.defaultThreadCount
    print("Similarity / FFT benchmark — median of \(runs) runs, ms (threads: 1 and \(threads))")
    print("")
    print("windowed sum of one array (1 thread)")
    print(pad("size", 8) + pad("r", 4) + pad("running", 12) + pad("fft", 12) + pad("fft/running", 12))
    for n in [64, 96, 128] {
        let dims = SIMD3(repeating: n)
        let v = Phantom.benchNoise(count: n * n * n, seed: 1)
        for r in [2, 4] {
            let running = BoxWindow(dims: dims, radius: r, method: .runningSums)
            let fft = BoxWindow(dims: dims, radius: r, method: .fft)
            let tr = medianMS(runs) { _ = running.sums(v, threads: 1) }
            let tf = medianMS(runs) { _ = fft.sums(v, threads: 1) }
            print(pad("\(n)³", 8) + pad("\(r)", 4) + pad(f(tr), 12) + pad(f(tf), 12) + pad(String(format: "%.1f×", tf / tr), 12))
        }
    }

    print("")
    print("LNCC value + gradient (7 windowed sums), atlas prepared once")
    print(pad("size", 8) + pad("r", 4) + pad("threads", 9) + pad("running", 12) + pad("fft", 12))
    for n in [64, 96] {
        let grid = Grid(dims: SIMD3(repeating: n), spacingMM: .one)
        let atlas = Volume(grid: grid, voxels: Phantom.benchNoise(count: grid.voxelCount, seed: 2))
        let warped = Phantom.benchNoise(count: grid.voxelCount, seed: 3)
        for r in [2, 4] {
            for t in Set([1, threads]).sorted() {
                let pr = LocalNCC(radius: r, method: .runningSums, threads: t).prepare(atlas: atlas, mask: nil)
                let pf = LocalNCC(radius: r, method: .fft, threads: t).prepare(atlas: atlas, mask: nil)
                let tr = medianMS(runs) { _ = pr.evaluate(warped: warped) }
                let tf = medianMS(runs) { _ = pf.evaluate(warped: warped) }
                print(pad("\(n)³", 8) + pad("\(r)", 4) + pad("\(t)", 9) + pad(f(tr), 12) + pad(f(tf), 12))
            }
        }
    }

    print("")
    print("FFT and searches")
    let n128 = SIMD3(repeating: 128)
    let x = Phantom.benchNoise(count: 128 * 128 * 128, seed: 4)
    let plan = RealFFT3D(dims: n128)
    let tRound = medianMS(runs) { _ = plan.inverse(plan.forward(x)) }
    print("  r2c + c2r round trip 128³, 1 thread (incl. array copies): \(f(tRound)) ms")
    for n in [48, 64] {
        let dims = SIMD3(repeating: n)
        let a = Phantom.benchNoise(count: n * n * n, seed: 5), b = Phantom.benchNoise(count: n * n * n, seed: 6)
        let padded = FFTPadding.linearCorrelationDims(dims, dims)
        for t in [1, threads] {
            let tm = medianMS(runs) {
                _ = maskedNCC(fixed: a, fixedMask: nil, fixedDims: dims, moving: b, movingMask: nil, movingDims: dims, threads: t)
            }
            print("  masked NCC, every shift of \(n)³ vs \(n)³ (12 FFTs of \(padded.x)³), \(t) thread(s): \(f(tm)) ms")
        }
        let search = MaskedNCCSearch(fixed: a, fixedMask: nil, fixedDims: dims, movingDims: dims, threads: threads)
        let tp = medianMS(runs) { _ = search.search(moving: b, movingMask: nil, threads: threads) }
        print("  … fixed side prepared once (9 FFTs per search), \(threads) thread(s): \(f(tp)) ms")
    }
    let grid = Grid(dims: SIMD3(repeating: 128), spacingMM: .one)
    let atlas = Volume(grid: grid, voxels: x)
    let warped = Phantom.benchNoise(count: grid.voxelCount, seed: 7)
    let global = GlobalNCC(threads: threads).prepare(atlas: atlas, mask: nil)
    let tg = medianMS(runs) { _ = global.evaluate(warped: warped) }
    print("  global NCC value + gradient 128³, \(threads) threads: \(f(tg)) ms")

    // Every refinement measure on one grid (atlas prepared once): the value alone where the
    // measure has a cheaper value-only path (the searches and checks use it), and value + gradient.
    print("")
    print("refinement measures on 96³ (0.88 M voxels, a 2 mm brain's grid), atlas prepared once")
    print(pad("measure", 34) + pad("threads", 9) + pad("value", 12) + pad("value+grad", 12))
    let g96 = Grid(dims: SIMD3(repeating: 96), spacingMM: .one)
    let a96 = Volume(grid: g96, voxels: Phantom.benchNoise(count: g96.voxelCount, seed: 8))
    let w96 = Phantom.benchNoise(count: g96.voxelCount, seed: 9)
    for t in Set([1, threads]).sorted() {
        let ncc = GlobalNCC(threads: t).prepare(atlas: a96, mask: nil)
        let lncc = LocalNCC(radius: 2, threads: t).prepare(atlas: a96, mask: nil)
        let mi = MattesMI(bins: 32, threads: t).prepare(atlas: a96, mask: nil)
        let ngf = NormalisedGradientFields(threads: t).prepare(atlas: a96, mask: nil)
        let cr = CorrelationRatio(bins: 32, threads: t).prepare(atlas: a96, mask: nil)
        let rows: [(String, (() -> Void)?, () -> Void)] = [
            ("global NCC", nil, { _ = ncc.evaluate(warped: w96) }),
            ("windowed NCC², r = 2", nil, { _ = lncc.evaluate(warped: w96) }),
            ("Mattes MI, 32 bins", { _ = mi.value(warped: w96) }, { _ = mi.evaluate(warped: w96) }),
            ("normalised gradient fields", nil, { _ = ngf.evaluate(warped: w96) }),
            ("correlation ratio η², 32 bins", { _ = cr.value(warped: w96) }, { _ = cr.evaluate(warped: w96) }),
        ]
        for (name, value, both) in rows {
            let tv = value.map { v in f(medianMS(runs) { v() }) } ?? "—"
            print(pad(name, 34) + pad("\(t)", 9) + pad(tv, 12) + pad(f(medianMS(runs) { both() }), 12))
        }
    }
}

private enum Phantom {
    static func benchNoise(count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(rng.uniform(0, 1)) }
    }
}

/// Median wall time in milliseconds (``medianSeconds(runs:_:)``: one warm-up, then `runs`).
private func medianMS(_ runs: Int, _ body: () -> Void) -> Double {
    medianSeconds(runs: runs, body) * 1000
}

private func f(_ ms: Double) -> String { String(format: "%.2f", ms) }

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}
