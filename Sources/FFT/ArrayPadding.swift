import VolumeCore

/// Sizes and zero padding for FFTs of 3D arrays (`i` fastest).
public enum FFTPadding {
    /// The smallest `m ≥ n` whose prime factors are all 2, 3, 5 or 7 — sizes FFTW transforms
    /// with its fast codelets. (A size with a large prime factor is several times slower:
    /// 136³ = (8·17)³ takes about 2.5× as long as 144³ on this platform.)
    public static func goodSize(atLeast n: Int) -> Int {
        precondition(n >= 1, "size must be positive")
        var m = n
        while true {
            var r = m
            for p in [2, 3, 5, 7] { while r % p == 0 { r /= p } }
            if r == 1 { return m }
            m += 1
        }
    }

    /// ``goodSize(atLeast:)`` per axis.
    public static func goodDims(atLeast n: SIMD3<Int>) -> SIMD3<Int> {
        SIMD3(goodSize(atLeast: n.x), goodSize(atLeast: n.y), goodSize(atLeast: n.z))
    }

    /// The padded shape for a non-cyclic (linear) cross-correlation of arrays of shapes `a`
    /// and `b`: a good size `≥ a + b − 1` per axis, so that no shift wraps around.
    public static func linearCorrelationDims(_ a: SIMD3<Int>, _ b: SIMD3<Int>) -> SIMD3<Int> {
        goodDims(atLeast: a &+ b &- 1)
    }

    /// `x` (shape `dims`) placed at the origin of a zero array of shape `padded ≥ dims`.
    public static func zeroPadded(_ x: [Float], dims: SIMD3<Int>, to padded: SIMD3<Int>) -> [Float] {
        precondition(x.count == dims.x * dims.y * dims.z, "array of \(x.count) values is not of shape \(dims)")
        precondition(padded.x >= dims.x && padded.y >= dims.y && padded.z >= dims.z,
                     "cannot pad shape \(dims) to the smaller shape \(padded)")
        if padded == dims { return x }
        var out = [Float](repeating: 0, count: padded.x * padded.y * padded.z)
        for k in 0..<dims.z {
            for j in 0..<dims.y {
                let src = dims.x * (j + dims.y * k)
                let dst = padded.x * (j + padded.y * k)
                for i in 0..<dims.x { out[dst + i] = x[src + i] }
            }
        }
        return out
    }

    /// The block of shape `dims` starting at voxel `origin` of `x` (shape `from`).
    public static func cropped(_ x: [Float], from: SIMD3<Int>, origin: SIMD3<Int> = .zero, dims: SIMD3<Int>) -> [Float] {
        precondition(x.count == from.x * from.y * from.z, "array of \(x.count) values is not of shape \(from)")
        let end = origin &+ dims
        precondition(origin.x >= 0 && origin.y >= 0 && origin.z >= 0 && end.x <= from.x && end.y <= from.y && end.z <= from.z,
                     "block at \(origin) of shape \(dims) does not fit in shape \(from)")
        if from == dims { return x }
        var out = [Float](repeating: 0, count: dims.x * dims.y * dims.z)
        for k in 0..<dims.z {
            for j in 0..<dims.y {
                let src = origin.x + from.x * ((origin.y + j) + from.y * (origin.z + k))
                let dst = dims.x * (j + dims.y * k)
                for i in 0..<dims.x { out[dst + i] = x[src + i] }
            }
        }
        return out
    }
}
