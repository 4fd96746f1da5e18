import Foundation
import VolumeCore

/// ``smoothAndResample(_:onto:threads:)`` in one pass per axis, for a target whose voxel axes
/// map onto the source's (a diagonal voxel map: the pyramid's levels of an axis-aligned image).
///
/// Blur then trilinear sampling are both separable, and along one axis they combine into a
/// single 1-D kernel per output index `o` (source position `p = α·o + β`, `x₀ = ⌊p⌋`, `t = p − x₀`):
///
///     K_o[s] = (1 − t)·B(x₀, s) + t·B(x₀ + 1, s),    B(x, s) = taps[s − x] / Σ_inside taps
///
/// with the blur's border renormalisation and the sampler's zero padding (a corner `x` outside
/// `0..<n` contributes nothing; `p ≤ −1` or `p ≥ n` gives 0). Applied along i, then j, then k,
/// each pass on the already-decimated result: about one full-resolution pass of work instead
/// of three blur passes and a resample. Equal to the two-step form up to Float32 rounding
/// (tested); deterministic: each output value is one fixed sequence of operations.
func _separableSmoothAndResample(_ v: Volume, onto target: Grid, sigmaMM: SIMD3<Double>, voxelMap: Affine,
                                 threads: Int) -> Volume {
    let n = v.grid.dims, m = target.dims
    var kernels: [[(start: Int, weights: [Float])]] = []
    for a in 0..<3 {
        let s = sigmaMM[a] / v.grid.spacingMM[a]
        let taps = s > 0 && s.isFinite ? _gaussianTaps(sigmaVoxels: s) : [1]
        kernels.append(_axisKernels(count: m[a], source: n[a], scale: voxelMap.linear[a, a],
                                    offset: voxelMap.translation[a], taps: taps))
    }
    // Pass along i: (n.x, n.y, n.z) → (m.x, n.y, n.z).
    let a = _pass(v.voxels, dims: n, axis: 0, kernels: kernels[0], outLength: m.x, threads: threads)
    let b = _pass(a, dims: SIMD3(m.x, n.y, n.z), axis: 1, kernels: kernels[1], outLength: m.y, threads: threads)
    let c = _pass(b, dims: SIMD3(m.x, m.y, n.z), axis: 2, kernels: kernels[2], outLength: m.z, threads: threads)
    return Volume(grid: target, voxels: c)
}

/// True when `map` (target voxel → source voxel) has no off-diagonal terms.
func _isAxisAligned(_ map: Affine) -> Bool {
    let l = map.linear
    var diagonal = 0.0, off = 0.0
    for r in 0..<3 { for c in 0..<3 { if r == c { diagonal = max(diagonal, abs(l[r, c])) } else { off = max(off, abs(l[r, c])) } } }
    return off <= 1e-12 * diagonal
}

/// Per output index, the combined blur-and-interpolation weights over source indices.
private func _axisKernels(count: Int, source n: Int, scale: Double, offset: Double, taps: [Double]) -> [(start: Int, weights: [Float])] {
    let r = (taps.count - 1) / 2
    // The blur's per-position normalisation (as `_blurAxis`).
    let norm: [Double] = (0..<n).map { x in
        var s = 0.0
        for t in -r...r where x + t >= 0 && x + t < n { s += taps[t + r] }
        return 1 / s
    }
    return (0..<count).map { o in
        // The sampler computes positions in Float; so does this (same cell and fraction).
        let p = Float(offset + scale * Double(o))
        guard p > -1, p < Float(n) else { return (0, []) }
        let x0 = _floorInt(p)
        let t = Double(p - Float(x0))
        let lo = max(0, x0 - r), hi = min(n - 1, x0 + 1 + r)
        guard lo <= hi else { return (0, []) }
        var w = [Double](repeating: 0, count: hi - lo + 1)
        for (x, f) in [(x0, 1 - t), (x0 + 1, t)] where x >= 0 && x < n && f != 0 {
            for s in max(0, x - r)...min(n - 1, x + r) { w[s - lo] += f * taps[s - x + r] * norm[x] }
        }
        return (lo, w.map { Float($0) })
    }
}

/// One pass along `axis` of an `dims` array: output length `outLength` along that axis.
private func _pass(_ input: [Float], dims n: SIMD3<Int>, axis: Int, kernels: [(start: Int, weights: [Float])],
                   outLength: Int, threads: Int) -> [Float] {
    var od = n
    od[axis] = outLength
    let count = od.x * od.y * od.z
    var out = [Float](repeating: 0, count: count)
    // Work in rows of the output along i (fixed chunks of rows, whatever the axis).
    let rows = od.y * od.z
    let chunks = _rowChunkCount(rows: rows, rowLength: od.x)
    input.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            let s = UncheckedSendable(src.baseAddress!), d = UncheckedSendable(dst.baseAddress!)
            parallelChunks(chunks, threads: threads) { c in
                let s = s.value, d = d.value
                for row in chunkRange(c, of: chunks, count: rows) {
                    let j = row % od.y, k = row / od.y
                    let o = row * od.x
                    switch axis {
                    case 0:
                        let so = n.x * (j + n.y * k)
                        for i in 0..<od.x {
                            let kern = kernels[i]
                            var acc: Float = 0
                            for (e, w) in kern.weights.enumerated() { acc += w * s[so + kern.start + e] }
                            d[o + i] = acc
                        }
                    default:
                        // Whole rows are combined: contiguous inner loop over i, taps in order.
                        let kern = kernels[axis == 1 ? j : k]
                        for (e, w) in kern.weights.enumerated() {
                            let sIndex = kern.start + e
                            let so = axis == 1 ? n.x * (sIndex + n.y * k) : n.x * (j + n.y * sIndex)
                            for i in 0..<od.x { d[o + i] += w * s[so + i] }
                        }
                    }
                }
            }
        }
    }
    return out
}
