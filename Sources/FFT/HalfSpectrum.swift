import VolumeCore

/// The non-redundant half of the DFT of a real 3D array.
///
/// `values[u + (nx/2 + 1)·(v + ny·w)]` holds `(re, im)` of frequency `(u, v, w)` for
/// `u ∈ 0...nx/2`, `v ∈ 0..<ny`, `w ∈ 0..<nz`; the other half follows from Hermitian
/// symmetry `X[−u] = conj(X[u])`. `dims` is the *real* shape.
public struct HalfSpectrum: Sendable, Equatable {
    /// The real shape `(nx, ny, nz)` this spectrum belongs to.
    public let dims: SIMD3<Int>
    /// Complex values as `(re, im)`.
    public var values: [SIMD2<Float>]

    public init(dims: SIMD3<Int>, values: [SIMD2<Float>]) {
        precondition(values.count == (dims.x / 2 + 1) * dims.y * dims.z,
                     "a half spectrum of real shape \(dims) has \((dims.x / 2 + 1) * dims.y * dims.z) values, got \(values.count)")
        self.dims = dims
        self.values = values
    }

    /// `conj(a)·b` bin by bin: the spectrum of the cross-correlation
    /// `c[s] = Σ_x a[x]·b[x + s]` (cyclic) of the real arrays `a`, `b`.
    public static func conjugateProduct(_ a: HalfSpectrum, _ b: HalfSpectrum) -> HalfSpectrum {
        precondition(a.dims == b.dims, "spectra of different shapes \(a.dims), \(b.dims)")
        let va = a.values, vb = b.values
        let out = [SIMD2<Float>](unsafeUninitializedCapacity: va.count) { buf, count in
            for n in 0..<va.count {
                let p = va[n], q = vb[n]
                buf[n] = SIMD2(p.x * q.x + p.y * q.y, p.x * q.y - p.y * q.x)
            }
            count = va.count
        }
        return HalfSpectrum(dims: a.dims, values: out)
    }

    /// `a·b` bin by bin: the spectrum of the cyclic convolution `(a ⊛ b)[x] = Σ_y a[y]·b[x − y]`.
    public static func product(_ a: HalfSpectrum, _ b: HalfSpectrum) -> HalfSpectrum {
        precondition(a.dims == b.dims, "spectra of different shapes \(a.dims), \(b.dims)")
        let va = a.values, vb = b.values
        let out = [SIMD2<Float>](unsafeUninitializedCapacity: va.count) { buf, count in
            for n in 0..<va.count {
                let p = va[n], q = vb[n]
                buf[n] = SIMD2(p.x * q.x - p.y * q.y, p.x * q.y + p.y * q.x)
            }
            count = va.count
        }
        return HalfSpectrum(dims: a.dims, values: out)
    }
}
