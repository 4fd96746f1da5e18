/// Index bookkeeping and the vol2col / col2vol kernels of ``Conv3D`` (kernel 3, padding 1).
///
/// The column matrix of one batch item has `rows = inChannels · 27` rows, row
/// `r = ((c · 3 + kd) · 3 + kh) · 3 + kw`, and one column per output voxel (x fastest), so that
/// `Y (out × voxels) = W (out × rows) · col (rows × voxels)` lands directly in NCDHW order.
struct ConvGeometry {
    let channels: Int, depth: Int, height: Int, width: Int
    let stride: Int
    let outDepth: Int, outHeight: Int, outWidth: Int

    /// Output columns per chunk that we aim for (fixed: chunking must not depend on threads).
    static let targetColumns = 2048

    init(input s: TensorShape5, stride: Int) {
        channels = s.channels; depth = s.depth; height = s.height; width = s.width
        self.stride = stride
        outDepth = (depth - 1) / stride + 1
        outHeight = (height - 1) / stride + 1
        outWidth = (width - 1) / stride + 1
    }

    var rows: Int { channels * 27 }
    var outPlane: Int { outHeight * outWidth }
    var outSpatial: Int { outDepth * outPlane }
    var inItem: Int { channels * depth * height * width }

    /// Number of slabs of output depth planes per batch item (a function of the shape only).
    var slabs: Int { max(1, min(outDepth, (outSpatial + ConvGeometry.targetColumns - 1) / ConvGeometry.targetColumns)) }

    func planeRange(_ slab: Int) -> Range<Int> {
        let s = slabs
        return (outDepth * slab / s)..<(outDepth * (slab + 1) / s)
    }

    /// Output positions `o` along an axis with `0 ≤ o·stride + tap − 1 < size`.
    @inline(__always)
    func validRange(tap: Int, size: Int, outSize: Int) -> Range<Int> {
        // o·s ≥ 1 − tap  and  o·s ≤ size − tap
        let lo = tap >= 1 ? 0 : (1 - tap + stride - 1) / stride
        guard size - tap >= 0 else { return lo..<lo }
        let hi = min(outSize, (size - tap) / stride + 1)
        return lo..<max(lo, hi)
    }

    /// Writes the columns of output planes `planes` (rows × (planes.count · outPlane), row-major).
    func vol2col(_ x: UnsafePointer<Float>, planes: Range<Int>, into col: UnsafeMutablePointer<Float>) {
        let cols = planes.count * outPlane
        let s = stride
        for c in 0..<channels {
            for kd in 0..<3 {
                for kh in 0..<3 {
                    let yr = validRange(tap: kh, size: height, outSize: outHeight)
                    for kw in 0..<3 {
                        let xr = validRange(tap: kw, size: width, outSize: outWidth)
                        let r = (c * 3 + kd) * 3 + kh
                        var dst = col + (r * 3 + kw) * cols
                        for oz in planes {
                            let iz = oz * s + kd - 1
                            if iz < 0 || iz >= depth {
                                dst.update(repeating: 0, count: outPlane)
                                dst += outPlane
                                continue
                            }
                            for oy in 0..<outHeight {
                                if !yr.contains(oy) {
                                    dst.update(repeating: 0, count: outWidth)
                                    dst += outWidth
                                    continue
                                }
                                let iy = oy * s + kh - 1
                                let src = x + ((c * depth + iz) * height + iy) * width + kw - 1
                                for ox in 0..<xr.lowerBound { dst[ox] = 0 }
                                if s == 1 {
                                    (dst + xr.lowerBound).update(from: src + xr.lowerBound, count: xr.count)
                                } else {
                                    for ox in xr { dst[ox] = src[ox * 2] }
                                }
                                for ox in xr.upperBound..<outWidth { dst[ox] = 0 }
                                dst += outWidth
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the columns of channel `c` (rows `c·27 ..< c·27 + 27` of a rows × outSpatial matrix)
    /// back onto input channel `c` of one batch item: the adjoint of ``vol2col(_:planes:into:)``.
    /// Summation order is fixed (row, then output voxel).
    func col2vol(_ col: UnsafePointer<Float>, channel c: Int, into dx: UnsafeMutablePointer<Float>) {
        let n = outSpatial, s = stride
        for kd in 0..<3 {
            let zr = validRange(tap: kd, size: depth, outSize: outDepth)
            for kh in 0..<3 {
                let yr = validRange(tap: kh, size: height, outSize: outHeight)
                for kw in 0..<3 {
                    let xr = validRange(tap: kw, size: width, outSize: outWidth)
                    let src = col + (((c * 3 + kd) * 3 + kh) * 3 + kw) * n
                    for oz in zr {
                        let iz = oz * s + kd - 1
                        for oy in yr {
                            let iy = oy * s + kh - 1
                            let d = dx + ((c * depth + iz) * height + iy) * width + kw - 1
                            let row = src + (oz * outHeight + oy) * outWidth
                            if s == 1 {
                                for ox in xr { d[ox] += row[ox] }
                            } else {
                                for ox in xr { d[ox * 2] += row[ox] }
                            }
                        }
                    }
                }
            }
        }
    }
}
