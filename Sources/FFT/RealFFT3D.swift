import CFFTW
import Foundation
import VolumeCore

/// A 3D real-to-complex FFT of one shape: an FFTW plan pair (r2c forward, c2r inverse) and
/// the `fftwf_malloc`'d buffers they run on, freed in `deinit`.
///
/// **Layout.** Real arrays are `i` fastest (`x + nx·(y + ny·z)`), as everywhere in stnreg,
/// so FFTW sees the dimensions in the order `(nz, ny, nx)`. The spectrum keeps the
/// non-redundant half along `i` (see ``HalfSpectrum``).
///
/// **Normalisation.** ``forward(_:)`` is the unnormalised DFT
/// `X[u] = Σ_x x[x]·exp(−2πi Σ_d u_d x_d / n_d)`; ``inverse(_:)`` divides by `N = nx·ny·nz`,
/// so `inverse(forward(x)) ≈ x`.
///
/// **Concurrency.** Calls on one instance are serialised by an internal lock (the buffers
/// are shared); distinct instances run concurrently. Use ``FFTPlanCache/withPlan(dims:_:)``
/// to get an idle instance per thread. Results are bit-identical however they are scheduled
/// (see `FFTWPlanner` on determinism).
public final class RealFFT3D: @unchecked Sendable {
    /// The real shape `(nx, ny, nz)`.
    public let dims: SIMD3<Int>
    private let real: UnsafeMutablePointer<Float>
    private let complex: UnsafeMutablePointer<fftwf_complex>
    private let forwardPlan: OpaquePointer
    private let inversePlan: OpaquePointer
    private let lock = NSLock()

    /// Plans the transforms for `dims` with `FFTW_ESTIMATE` (a few ms at most).
    public init(dims: SIMD3<Int>) {
        precondition(dims.x >= 1 && dims.y >= 1 && dims.z >= 1, "FFT dimensions must be positive, got \(dims)")
        precondition(dims.x * dims.y * dims.z <= Int(Int32.max), "FFT too large: \(dims)")
        self.dims = dims
        let n = dims.x * dims.y * dims.z
        let nc = (dims.x / 2 + 1) * dims.y * dims.z
        guard let r = fftwf_malloc(n * MemoryLayout<Float>.stride),
              let c = fftwf_malloc(nc * MemoryLayout<fftwf_complex>.stride) else {
            preconditionFailure("fftwf_malloc failed for an FFT of shape \(dims)")
        }
        let realBuffer = r.bindMemory(to: Float.self, capacity: n)
        let complexBuffer = c.bindMemory(to: fftwf_complex.self, capacity: nc)
        real = realBuffer
        complex = complexBuffer
        let (nz, ny, nx) = (Int32(dims.z), Int32(dims.y), Int32(dims.x))
        let flags = UInt32(FFTW_ESTIMATE)
        let plans: (OpaquePointer?, OpaquePointer?) = FFTWPlanner.withLock {
            fftwf_forget_wisdom()
            let f = fftwf_plan_dft_r2c_3d(nz, ny, nx, realBuffer, complexBuffer, flags)
            fftwf_forget_wisdom()
            let i = fftwf_plan_dft_c2r_3d(nz, ny, nx, complexBuffer, realBuffer, flags)
            return (f, i)
        }
        guard let f = plans.0, let i = plans.1 else {
            preconditionFailure("FFTW could not plan a transform of shape \(dims)")
        }
        forwardPlan = f
        inversePlan = i
    }

    deinit {
        FFTWPlanner.withLock {
            fftwf_destroy_plan(forwardPlan)
            fftwf_destroy_plan(inversePlan)
        }
        fftwf_free(real)
        fftwf_free(complex)
    }

    /// Number of real samples, `nx·ny·nz`.
    public var realCount: Int { dims.x * dims.y * dims.z }

    /// Shape of the half spectrum, `(nx/2 + 1, ny, nz)`.
    public var spectrumDims: SIMD3<Int> { SIMD3(dims.x / 2 + 1, dims.y, dims.z) }

    /// The unnormalised forward DFT of `x` (`realCount` values, `i` fastest).
    public func forward(_ x: [Float]) -> HalfSpectrum {
        precondition(x.count == realCount, "forward FFT expects \(realCount) values for \(dims), got \(x.count)")
        let nc = spectrumDims.x * dims.y * dims.z
        lock.lock(); defer { lock.unlock() }
        x.withUnsafeBufferPointer { src in
            real.update(from: src.baseAddress!, count: src.count)
        }
        fftwf_execute(forwardPlan)
        let values = [SIMD2<Float>](unsafeUninitializedCapacity: nc) { buf, count in
            for n in 0..<nc {
                buf[n] = SIMD2(complex[n].0, complex[n].1)
            }
            count = nc
        }
        return HalfSpectrum(dims: dims, values: values)
    }

    /// The forward DFT of `x` (shape `dims ≤ self.dims`) zero-padded at the origin to
    /// `self.dims`, padding straight into the FFTW buffer (no padded copy).
    func forward(zeroPadding x: [Float], dims small: SIMD3<Int>) -> HalfSpectrum {
        precondition(x.count == small.x * small.y * small.z, "array of \(x.count) values is not of shape \(small)")
        precondition(small.x <= dims.x && small.y <= dims.y && small.z <= dims.z, "cannot pad \(small) to \(dims)")
        let nc = spectrumDims.x * dims.y * dims.z
        lock.lock(); defer { lock.unlock() }
        real.update(repeating: 0, count: realCount)
        x.withUnsafeBufferPointer { src in
            for k in 0..<small.z {
                for j in 0..<small.y {
                    (real + dims.x * (j + dims.y * k)).update(from: src.baseAddress! + small.x * (j + small.y * k), count: small.x)
                }
            }
        }
        fftwf_execute(forwardPlan)
        let values = [SIMD2<Float>](unsafeUninitializedCapacity: nc) { buf, count in
            for n in 0..<nc { buf[n] = SIMD2(complex[n].0, complex[n].1) }
            count = nc
        }
        return HalfSpectrum(dims: dims, values: values)
    }

    /// The normalised inverse DFT of `spectrum`, read out for the cyclic shifts
    /// `minShift ..< minShift + window` (shift `s` is cyclic index `s mod dims`), i fastest.
    func inverse(_ spectrum: HalfSpectrum, minShift: SIMD3<Int>, window: SIMD3<Int>) -> [Float] {
        precondition(spectrum.dims == dims, "inverse FFT of shape \(dims) given a spectrum of shape \(spectrum.dims)")
        let scale = 1 / Float(realCount)
        func wrapped(_ lo: Int, _ count: Int, _ p: Int) -> [Int] { (0..<count).map { (((lo + $0) % p) + p) % p } }
        let wi = wrapped(minShift.x, window.x, dims.x), wj = wrapped(minShift.y, window.y, dims.y)
        let wk = wrapped(minShift.z, window.z, dims.z)
        lock.lock(); defer { lock.unlock() }
        spectrum.values.withUnsafeBufferPointer { src in
            for m in 0..<src.count { complex[m] = (src[m].x, src[m].y) }
        }
        fftwf_execute(inversePlan)
        let count = window.x * window.y * window.z
        return [Float](unsafeUninitializedCapacity: count) { buf, initialised in
            var n = 0
            for k in wk {
                for j in wj {
                    let row = real + dims.x * (j + dims.y * k)
                    for i in wi { buf[n] = row[i] * scale; n += 1 }
                }
            }
            initialised = count
        }
    }

    /// The inverse DFT of `spectrum`, divided by `realCount`, so that it undoes ``forward(_:)``.
    ///
    /// Only the half spectrum is used; the imaginary parts of the self-conjugate bins
    /// (`u = 0` and, for even `nx`, `u = nx/2`) are implicitly treated as Hermitian by FFTW.
    public func inverse(_ spectrum: HalfSpectrum) -> [Float] {
        precondition(spectrum.dims == dims, "inverse FFT of shape \(dims) given a spectrum of shape \(spectrum.dims)")
        let n = realCount
        let scale = 1 / Float(n)
        lock.lock(); defer { lock.unlock() }
        spectrum.values.withUnsafeBufferPointer { src in
            for m in 0..<src.count {
                complex[m] = (src[m].x, src[m].y)
            }
        }
        fftwf_execute(inversePlan)   // c2r overwrites `complex`; it is refilled on every call
        return [Float](unsafeUninitializedCapacity: n) { buf, count in
            for m in 0..<n { buf[m] = real[m] * scale }
            count = n
        }
    }
}
