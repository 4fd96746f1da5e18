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
