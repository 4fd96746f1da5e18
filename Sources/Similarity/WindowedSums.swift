import FFT
import VolumeCore

/// How ``BoxWindow`` computes its sums. Both give the same sums up to Float32 rounding.
public enum WindowedSumMethod: Sendable, Equatable, CaseIterable {
    /// Separable sums along i, then j, then k: per-tap Float adds along i (r ≤ 8), sliding
    /// Double accumulators along j and k. O(N·r) for the cheap i pass, O(N) otherwise;
    /// error relative to the local window sum. **The default**:
    /// measured faster than FFT convolution at every size used (see `SimilarityBench.swift`).
    case runningSums
    /// Convolution with the box kernel through the `FFT` module (zero-padded to a good size
    /// ≥ n + r per axis). O(N log N); error relative to the largest values of the whole
    /// volume, not the local window, so smooth low-variance regions lose more precision.
    case fft
}

/// Sums of a 3D array over the `(2r+1)³` box around every voxel, clipped to the volume.
///
/// `S[x] = Σ_{y : |y_d − x_d| ≤ r, 0 ≤ y_d < n_d} v[y]` — voxels outside the volume are not
/// counted (equivalently, zero padding), and ``counts`` holds the number of voxels each
/// clipped window covers. Arrays are `i` fastest. The box sum is self-adjoint: for the
/// backward pass, `Σ_x g[x]·S(v)[x] = Σ_y S(g)[y]·v[y]`.
///
/// Results are identical for any `threads` (each output value is computed by one fixed
/// sequence of operations, whatever the split).
public struct BoxWindow: Sendable {
    public let dims: SIMD3<Int>
    /// Half-width `r ≥ 0` of the window, in voxels.
    public let radius: Int
    public let method: WindowedSumMethod
    /// Number of voxels in each clipped window, `Π_d (min(x_d + r, n_d − 1) − max(x_d − r, 0) + 1)`.
    public let counts: [Float]
    private let fftDims: SIMD3<Int>
    private let kernelSpectrum: HalfSpectrum?

    public init(dims: SIMD3<Int>, radius: Int, method: WindowedSumMethod = .runningSums) {
        precondition(dims.x >= 1 && dims.y >= 1 && dims.z >= 1, "dimensions must be positive")
        precondition(radius >= 0, "window radius must be ≥ 0")
        self.dims = dims
        self.radius = radius
        self.method = method
        func axisCounts(_ n: Int) -> [Float] { (0..<n).map { Float(min($0 + radius, n - 1) - max($0 - radius, 0) + 1) } }
        let cx = axisCounts(dims.x), cy = axisCounts(dims.y), cz = axisCounts(dims.z)
        var counts = [Float](repeating: 0, count: dims.x * dims.y * dims.z)
        for k in 0..<dims.z { for j in 0..<dims.y { for i in 0..<dims.x {
            counts[i + dims.x * (j + dims.y * k)] = cx[i] * cy[j] * cz[k]
        } } }
        self.counts = counts
        if method == .fft {
            // P ≥ n + r: the wrapped-around part of the linear convolution lands in the zero
            // padding. P ≥ 2r + 1: the kernel does not overlap itself.
            let p = FFTPadding.goodDims(atLeast: pointwiseMax(dims &+ radius, SIMD3(repeating: 2 * radius + 1)))
            var kernel = [Float](repeating: 0, count: p.x * p.y * p.z)
            for dk in -radius...radius { for dj in -radius...radius { for di in -radius...radius {
                let i = (di + p.x) % p.x, j = (dj + p.y) % p.y, k = (dk + p.z) % p.z
                kernel[i + p.x * (j + p.y * k)] = 1
            } } }
            fftDims = p
            kernelSpectrum = FFTPlanCache.shared.withPlan(dims: p) { $0.forward(kernel) }
        } else {
            fftDims = dims
            kernelSpectrum = nil
        }
    }

    /// The windowed sums of `values` (`dims` voxels, `i` fastest).
    public func sums(_ values: [Float], threads: Int = ThreadPolicy.defaultThreadCount) -> [Float] {
        sums(of: [values], threads: threads)[0]
    }

    /// The windowed sums of several arrays. Running sums parallelise within each array;
    /// the FFT method runs one single-threaded transform per array in parallel.
    public func sums(of arrays: [[Float]], threads: Int = ThreadPolicy.defaultThreadCount) -> [[Float]] {
        let n = dims.x * dims.y * dims.z
        for a in arrays { precondition(a.count == n, "windowed sums of shape \(dims) need \(n) values, got \(a.count)") }
        switch method {
        case .runningSums:
            return arrays.map { runningSums($0, threads: threads) }
        case .fft:
            var out = [[Float]](repeating: [], count: arrays.count)
            out.withUnsafeMutableBufferPointer { buf in
                let slots = UncheckedSendable(buf.baseAddress!)
                parallelChunks(arrays.count, threads: threads) { a in slots.value[a] = fftSums(arrays[a]) }
            }
            return out
        }
    }

    private func fftSums(_ values: [Float]) -> [Float] {
        let padded = FFTPadding.zeroPadded(values, dims: dims, to: fftDims)
        let conv = FFTPlanCache.shared.withPlan(dims: fftDims) { plan in
            plan.inverse(HalfSpectrum.product(plan.forward(padded), kernelSpectrum!))
        }
        return FFTPadding.cropped(conv, from: fftDims, dims: dims)
    }

    /// Three separable passes: i (tap sums), then j and k (sliding Double accumulators over whole rows).
    private func runningSums(_ v: [Float], threads: Int) -> [Float] {
        let (nx, ny, nz) = (dims.x, dims.y, dims.z)
        let r = radius
        let plane = nx * ny
        // Pass along i, one slab of k per chunk. Small windows: one contiguous (vectorised)
        // Float add per tap, `out[i] = Σ_{|d| ≤ r} v[i + d]` over in-range `i + d` (at most 17
        // terms). Large windows: a sliding Double accumulator (a serial dependency chain).
        let alongI = v.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: v.count) { buf, initialised in
                let out = UncheckedSendable(buf.baseAddress!)
                parallelChunks(nz, threads: threads) { k in
                    for j in 0..<ny {
                        let row = nx * (j + ny * k)
                        let o = out.value + row
                        let x = src.baseAddress! + row
                        if r <= 8 {
                            o.update(repeating: 0, count: nx)
                            for d in -min(r, nx - 1)...min(r, nx - 1) {
                                let xd = x + d   // no overflow checks in the loop: it vectorises
                                for i in max(0, -d)..<min(nx, nx - d) { o[i] += xd[i] }
                            }
                        } else {
                            var acc = 0.0
                            for i in 0..<min(r, nx) { acc += Double(x[i]) }
                            for i in 0..<nx {
                                if i + r < nx { acc += Double(x[i + r]) }
                                o[i] = Float(acc)
                                if i - r >= 0 { acc -= Double(x[i - r]) }
                            }
                        }
                    }
                }
                initialised = v.count
            }
        }
        // Pass along j: whole rows slide, one slab of k per chunk.
        let alongJ = alongI.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: v.count) { buf, initialised in
                let out = UncheckedSendable(buf.baseAddress!)
                parallelChunks(nz, threads: threads) { k in
                    var acc = [Double](repeating: 0, count: nx)
                    slide(src: src.baseAddress! + plane * k, dst: out.value + plane * k,
                          lines: ny, stride: nx, width: nx, radius: r, acc: &acc)
                }
                initialised = v.count
            }
        }
        // Pass along k: contiguous runs of each plane slide with stride nx·ny; a few long runs
        // per chunk stream better than one row of nx per chunk.
        let runs = min(8, plane)
        return alongJ.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: v.count) { buf, initialised in
                let out = UncheckedSendable(buf.baseAddress!)
                parallelChunks(runs, threads: threads) { c in
                    let part = chunkRange(c, of: runs, count: plane)
                    var acc = [Double](repeating: 0, count: part.count)
                    slide(src: src.baseAddress! + part.lowerBound, dst: out.value + part.lowerBound,
                          lines: nz, stride: plane, width: part.count, radius: r, acc: &acc)
                }
                initialised = v.count
            }
        }
    }
}

/// Sliding-window sum over `lines` rows of `width` contiguous values, `stride` apart:
/// `dst[l] = Σ_{|l' − l| ≤ r, 0 ≤ l' < lines} src[l']`, row-wise, with Double accumulators.
private func slide(src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>,
                   lines: Int, stride: Int, width: Int, radius r: Int, acc: inout [Double]) {
    acc.withUnsafeMutableBufferPointer { a in
        for i in 0..<width { a[i] = 0 }
        for l in 0..<min(r, lines) {
            let s = src + l * stride
            for i in 0..<width { a[i] += Double(s[i]) }
        }
        for l in 0..<lines {
            if l + r < lines {
                let s = src + (l + r) * stride
                for i in 0..<width { a[i] += Double(s[i]) }
            }
            let d = dst + l * stride
            for i in 0..<width { d[i] = Float(a[i]) }
            if l - r >= 0 {
                let s = src + (l - r) * stride
                for i in 0..<width { a[i] -= Double(s[i]) }
            }
        }
    }
}
