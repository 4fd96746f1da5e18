import VolumeCore

/// Voxels per chunk for reductions and element-wise kernels. The split depends on the voxel
/// count only — never on the thread count — so partial sums, combined in chunk order, give
/// the same bits for any number of threads.
let voxelsPerChunk = 1 << 15

func chunkCount(_ count: Int) -> Int { max(1, (count + voxelsPerChunk - 1) / voxelsPerChunk) }

/// Σ over `0..<count` of per-chunk partial sums (up to four quantities at once), accumulated
/// in Double and combined in chunk order.
func deterministicSum(count: Int, threads: Int, _ body: (Range<Int>) -> SIMD4<Double>) -> SIMD4<Double> {
    let chunks = chunkCount(count)
    var partials = [SIMD4<Double>](repeating: .zero, count: chunks)
    partials.withUnsafeMutableBufferPointer { buf in
        let out = UncheckedSendable(buf.baseAddress!)
        parallelChunks(chunks, threads: threads) { c in out.value[c] = body(chunkRange(c, of: chunks, count: count)) }
    }
    var total = SIMD4<Double>.zero
    for p in partials { total += p }
    return total
}

/// A new array of `count` values, each chunk filled by `body(range, out)` (which must write
/// exactly `out[range]`).
func parallelFill(count: Int, threads: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buf, initialised in
        let chunks = chunkCount(count)
        let out = UncheckedSendable(buf.baseAddress!)
        parallelChunks(chunks, threads: threads) { c in body(chunkRange(c, of: chunks, count: count), out.value) }
        initialised = count
    }
}

/// `m / Σm` per voxel (Σ in Double over fixed chunks: identical for any thread count); all
/// zeros when Σm = 0. Preconditions that the weights are ≥ 0.
func normalisedWeights(_ mask: [Float], threads: Int) -> [Float] {
    let total = deterministicSum(count: mask.count, threads: threads) { range in
        var s = 0.0
        for n in range {
            precondition(mask[n] >= 0, "mask weights must be ≥ 0")
            s += Double(mask[n])
        }
        return SIMD4(s, 0, 0, 0)
    }.x
    return parallelFill(count: mask.count, threads: threads) { range, out in
        for n in range { out[n] = total > 0 ? Float(Double(mask[n]) / total) : 0 }
    }
}

/// The atlas's hard histogram bin per voxel for the histogram measures (Mattes MI, the
/// correlation ratio): `α(a) = min(B − 1, ⌊a·B⌋)` of the atlas clamped to [0, 1] (non-finite
/// values as 0), −1 where the mask's weight is 0 (those voxels are skipped), and the mask's
/// total weight (summed in voxel order). Preconditions that the weights are ≥ 0.
func atlasHardBins(_ atlas: [Float], mask: [Float]?, bins: Int) -> (bin: [Int32], totalWeight: Double) {
    precondition(mask == nil || mask!.count == atlas.count, "mask has \(mask!.count) values, atlas \(atlas.count)")
    var total = 0.0
    let bin = (0..<atlas.count).map { n -> Int32 in
        let w = mask?[n] ?? 1
        precondition(w >= 0, "mask weights must be ≥ 0")
        guard w > 0 else { return -1 }
        total += Double(w)
        let a = atlas[n].isFinite ? min(1, max(0, atlas[n])) : 0
        return Int32(min(bins - 1, Int(a * Float(bins))))
    }
    return (bin, total)
}
