import VolumeCore

/// Cyclic cross-correlation of two real 3D arrays over every shift, in one FFT round trip.
///
/// `c[s] = Σ_x a[x]·b[(x + s) mod dims]` for every shift `s`, stored at index
/// `s mod dims` (`i` fastest): index 0 is the zero shift, and a negative shift `−t` along an
/// axis of length `n` sits at `n − t`. A large `c[s]` means `b` shifted back by `s` matches
/// `a`, i.e. `b(x + s) ≈ a(x)`.
///
/// Shifts wrap around. For the non-cyclic sum over overlapping voxels only, zero-pad both
/// arrays to at least `a + b − 1` per axis, or call ``linearCrossCorrelation(_:aDims:_:bDims:threads:)``.
///
/// Computed as `inverse(conj(FFT a)·FFT b)` in Float32: the error of each entry is about
/// `1e-7·log₂N` times `Σ|a|·max|b|`, not relative to the entry itself. Cost O(N log N);
/// the two forward transforms run in parallel. Identical bits for any `threads`.
public func crossCorrelation(_ a: [Float], _ b: [Float], dims: SIMD3<Int>,
                             threads: Int = ThreadPolicy.defaultThreadCount) -> [Float] {
    let n = dims.x * dims.y * dims.z
    precondition(a.count == n && b.count == n, "cross-correlation of shape \(dims) needs \(n) values in each array")
    let spectra = forwardTransforms([a, b], dims: dims, threads: threads)
    let product = HalfSpectrum.conjugateProduct(spectra[0], spectra[1])
    return FFTPlanCache.shared.withPlan(dims: dims) { $0.inverse(product) }
}

/// Non-cyclic cross-correlation over every shift at which the arrays overlap.
///
/// `c[s] = Σ_x a[x]·b[x + s]`, summed over `x` inside `a` with `x + s` inside `b`
/// (zero padding), for `s` from `−(aDims − 1)` to `bDims − 1` per axis. The map's
/// `minShift` is `1 − aDims`. Both arrays are zero-padded to
/// ``FFTPadding/linearCorrelationDims(_:_:)`` before one cyclic correlation.
public func linearCrossCorrelation(_ a: [Float], aDims: SIMD3<Int>, _ b: [Float], bDims: SIMD3<Int>,
                                   threads: Int = ThreadPolicy.defaultThreadCount) -> ShiftMap {
    let padded = FFTPadding.linearCorrelationDims(aDims, bDims)
    let c = crossCorrelation(FFTPadding.zeroPadded(a, dims: aDims, to: padded),
                             FFTPadding.zeroPadded(b, dims: bDims, to: padded),
                             dims: padded, threads: threads)
    return shiftMap(fromCyclic: c, period: padded, minShift: 1 &- aDims, dims: aDims &+ bDims &- 1)
}

/// Forward transforms of several arrays of one shape, one transform per task.
func forwardTransforms(_ arrays: [[Float]], dims: SIMD3<Int>, threads: Int) -> [HalfSpectrum] {
    parallelMap(arrays.count, threads: threads) { n in
        FFTPlanCache.shared.withPlan(dims: dims) { $0.forward(arrays[n]) }
    }
}

/// Inverse transforms of several spectra of one shape, one transform per task.
func inverseTransforms(_ spectra: [HalfSpectrum], dims: SIMD3<Int>, threads: Int) -> [[Float]] {
    parallelMap(spectra.count, threads: threads) { n in
        FFTPlanCache.shared.withPlan(dims: dims) { $0.inverse(spectra[n]) }
    }
}

/// Reads the shifts `minShift ..< minShift + dims` out of a cyclic map of period `period`
/// (shift `s` at index `s mod period`).
func shiftMap(fromCyclic c: [Float], period: SIMD3<Int>, minShift: SIMD3<Int>, dims: SIMD3<Int>) -> ShiftMap {
    var out = [Float](repeating: 0, count: dims.x * dims.y * dims.z)
    func wrap(_ s: Int, _ p: Int) -> Int { ((s % p) + p) % p }
    for k in 0..<dims.z {
        let kk = wrap(minShift.z + k, period.z)
        for j in 0..<dims.y {
            let jj = wrap(minShift.y + j, period.y)
            let row = period.x * (jj + period.y * kk)
            for i in 0..<dims.x {
                out[i + dims.x * (j + dims.y * k)] = c[row + wrap(minShift.x + i, period.x)]
            }
        }
    }
    return ShiftMap(minShift: minShift, dims: dims, values: out)
}
