import VolumeCore

/// Trilinear sampling of a scan with derivatives, for registration and the spatial transformer.
///
/// All positions are **scan voxel coordinates** `p` (voxel centres at integers, axes i, j, k);
/// a warp is given by the voxel-to-voxel affine `p = A·q + b` from target voxel indices `q`
/// (``targetVoxelToScanVoxel(target:scan:atlasToScan:)``). The border rule is zero padding
/// (``Interpolation/linear``): the interpolant is continuous and piecewise trilinear, so its
/// derivative jumps across cell faces; on a face this module uses the derivative of the cell
/// `[⌊p⌋, ⌊p⌋+1]`. Finite differences across a face therefore do not match the analytic
/// derivative; everywhere else they do.
///
/// Determinism: every function gives bitwise identical results for any `threads`. Reductions
/// use a fixed split into chunks of rows (a function of the shape only), Double partial sums
/// per chunk, combined in chunk order.
public struct TrilinearSampler: Sendable {
    /// The scan being sampled.
    public let scan: Volume

    public init(_ scan: Volume) {
        self.scan = scan
    }

    // MARK: - One point (Double precision)

    /// The interpolated value at `p` (scan voxel coordinates), computed in Double.
    public func value(at p: SIMD3<Double>) -> Double {
        valueAndGradient(at: p).value
    }

    /// The interpolated value at `p` and its gradient `∂value/∂p` (intensity per scan voxel),
    /// computed in Double with the same rule as the grid kernels (which compute in Float).
    public func valueAndGradient(at p: SIMD3<Double>) -> (value: Double, gradient: SIMD3<Double>) {
        let n = scan.grid.dims
        guard p.x > -1, p.y > -1, p.z > -1,
              p.x < Double(n.x), p.y < Double(n.y), p.z < Double(n.z) else { return (0, .zero) }
        let f = p.rounded(.down)
        let x0 = Int(f.x), y0 = Int(f.y), z0 = Int(f.z)
        let t = p - f
        func at(_ x: Int, _ y: Int, _ z: Int) -> Double {
            guard x >= 0, y >= 0, z >= 0, x < n.x, y < n.y, z < n.z else { return 0 }
            return Double(scan.voxels[x + n.x * (y + n.y * z)])
        }
        let c000 = at(x0, y0, z0), c100 = at(x0 + 1, y0, z0)
        let c010 = at(x0, y0 + 1, z0), c110 = at(x0 + 1, y0 + 1, z0)
        let c001 = at(x0, y0, z0 + 1), c101 = at(x0 + 1, y0, z0 + 1)
        let c011 = at(x0, y0 + 1, z0 + 1), c111 = at(x0 + 1, y0 + 1, z0 + 1)
        let dx00 = c100 - c000, dx10 = c110 - c010, dx01 = c101 - c001, dx11 = c111 - c011
        let c00 = c000 + t.x * dx00, c10 = c010 + t.x * dx10
        let c01 = c001 + t.x * dx01, c11 = c011 + t.x * dx11
        let dy0 = c10 - c00, dy1 = c11 - c01
        let c0 = c00 + t.y * dy0, c1 = c01 + t.y * dy1
        let e0 = dx00 + t.y * (dx10 - dx00), e1 = dx01 + t.y * (dx11 - dx01)
        return (c0 + t.z * (c1 - c0), SIMD3(e0 + t.z * (e1 - e0), dy0 + t.z * (dy1 - dy0), c1 - c0))
    }

    // MARK: - Whole grids (Float)

    /// The warped image: `warped[q] = scan(A·q + b)` for every voxel `q` of `target`.
    /// `voxelMap` is `(A, b)`; `target` supplies the dims and the geometry of the result.
    /// With `spans`, only the voxels of ``RowSpans`` are sampled; the others are 0.
    public func warp(onto target: Grid, voxelMap: Affine, spans: RowSpans? = nil,
                     threads: Int = ThreadPolicy.defaultThreadCount) -> Volume {
        _warp(scan, onto: target, voxelMap: voxelMap, interpolation: .linear, spans: spans, threads: threads)
    }

    /// The warped image and, per target voxel, the gradient of the scan interpolant at the
    /// sample point, `∂warped[q]/∂p` (intensity per scan voxel; analytic, piecewise linear).
    /// With `spans`, only the voxels of ``RowSpans`` are sampled; the others are 0, gradient too.
    public func warpWithGradient(onto target: Grid, voxelMap: Affine, spans: RowSpans? = nil,
                                 threads: Int = ThreadPolicy.defaultThreadCount) -> WarpedWithGradient {
        let rm = _RowMap(voxelMap)
        let n = target.dims
        precondition(spans == nil || spans!.dims == n, "row spans of shape \(spans!.dims) for a target of \(n)")
        let rows = n.y * n.z
        let chunks = _rowChunkCount(rows: rows, rowLength: n.x)
        var values = [Float](repeating: 0, count: target.voxelCount)
        var grads = [Float](repeating: 0, count: 3 * target.voxelCount)
        scan.voxels.withUnsafeBufferPointer { src in
            values.withUnsafeMutableBufferPointer { vb in
                grads.withUnsafeMutableBufferPointer { gb in
                    let view = _ScanView(src.baseAddress!, dims: scan.grid.dims)
                    let v = vb.baseAddress!, g = gb.baseAddress!
                    parallelChunks(chunks, threads: threads) { c in
                        for row in chunkRange(c, of: chunks, count: rows) {
                            let (sx, sy, sz) = rm.start(row % n.y, row / n.y)
                            let o = row * n.x
                            for i in spans?.range(row) ?? 0..<n.x {
                                let fi = Float(i)
                                let (w, gx, gy, gz) = view.valueAndGradient(
                                    sx + fi * rm.dx, sy + fi * rm.dy, sz + fi * rm.dz)
                                v[o + i] = w
                                g[3 * (o + i)] = gx
                                g[3 * (o + i) + 1] = gy
                                g[3 * (o + i) + 2] = gz
                            }
                        }
                    }
                }
            }
        }
        return WarpedWithGradient(warped: Volume(grid: target, voxels: values), spatialGradient: grads)
    }

    /// `∂L/∂(A, b)` for the warp `p = A·q + b` onto a target of `dLossdWarped.grid.dims`, given
    /// `∂L/∂warped` per target voxel; recomputes `∂warped/∂p` on the fly (no 3-per-voxel buffer).
    ///
    ///     ∂L/∂A_rc = Σ_q ∂L/∂w_q · ∂w_q/∂p_r · q_c,     ∂L/∂b_r = Σ_q ∂L/∂w_q · ∂w_q/∂p_r
    ///
    /// Chain to world space with ``AffineGradient/atlasToScan(target:scan:)``.
    public func affineGradient(dLossdWarped: Volume, voxelMap: Affine,
                               threads: Int = ThreadPolicy.defaultThreadCount) -> AffineGradient {
        let rm = _RowMap(voxelMap)
        let n = dLossdWarped.grid.dims
        return scan.voxels.withUnsafeBufferPointer { src in
            dLossdWarped.voxels.withUnsafeBufferPointer { lb in
                let view = _ScanView(src.baseAddress!, dims: scan.grid.dims)
                let l = lb.baseAddress!
                return _reduceAffineGradient(dims: n, threads: threads) { j, k in
                    let (sx, sy, sz) = rm.start(j, k)
                    let o = n.x * (j + n.y * k)
                    var s = SIMD3<Double>.zero, si = SIMD3<Double>.zero
                    for i in 0..<n.x {
                        let dl = l[o + i]
                        if dl == 0 { continue }
                        let fi = Float(i)
                        let (_, gx, gy, gz) = view.valueAndGradient(sx + fi * rm.dx, sy + fi * rm.dy, sz + fi * rm.dz)
                        let g = Double(dl) * SIMD3(Double(gx), Double(gy), Double(gz))
                        s += g
                        si += Double(i) * g
                    }
                    return (s, si)
                }
            }
        }
    }

    /// `∂L/∂(A, b)` from a stored spatial gradient (``WarpedWithGradient/spatialGradient``) and
    /// `∂L/∂warped`; same formula and the same result as the fused
    /// ``affineGradient(dLossdWarped:voxelMap:threads:)`` up to rounding.
    public static func affineGradient(dLossdWarped: Volume, spatialGradient: [Float],
                                      threads: Int = ThreadPolicy.defaultThreadCount) -> AffineGradient {
        let n = dLossdWarped.grid.dims
        precondition(spatialGradient.count == 3 * dLossdWarped.grid.voxelCount,
                     "spatial gradient needs 3 values per target voxel")
        return spatialGradient.withUnsafeBufferPointer { gb in
            dLossdWarped.voxels.withUnsafeBufferPointer { lb in
                let l = lb.baseAddress!, gp = gb.baseAddress!
                return _reduceAffineGradient(dims: n, threads: threads) { j, k in
                    let o = n.x * (j + n.y * k)
                    var s = SIMD3<Double>.zero, si = SIMD3<Double>.zero
                    for i in 0..<n.x {
                        let dl = Double(l[o + i])
                        let m = 3 * (o + i)
                        let g = dl * SIMD3(Double(gp[m]), Double(gp[m + 1]), Double(gp[m + 2]))
                        s += g
                        si += Double(i) * g
                    }
                    return (s, si)
                }
            }
        }
    }
}

/// A warped image and the spatial gradient of the scan interpolant at each sample point.
public struct WarpedWithGradient: Sendable {
    /// The warped image on the target grid.
    public var warped: Volume
    /// `∂warped[q]/∂p_r` for target voxel index `n` at `3·n + r`, `r` = scan voxel axis i, j, k
    /// (intensity per scan voxel).
    public var spatialGradient: [Float]
}

/// Sums per-row contributions into `∂L/∂(A, b)`. `row(j, k)` returns `(Σ_i g, Σ_i i·g)` with
/// `g = ∂L/∂w · ∂w/∂p` along the row; the row adds `Σ i·g` to column 0 of `A`, `j·Σg` to
/// column 1, `k·Σg` to column 2 and `Σg` to `b`. Fixed chunks, Double partials per chunk,
/// combined in chunk order.
func _reduceAffineGradient(dims n: SIMD3<Int>, threads: Int,
                           _ row: (Int, Int) -> (SIMD3<Double>, SIMD3<Double>)) -> AffineGradient {
    let rows = n.y * n.z
    let chunks = _rowChunkCount(rows: rows, rowLength: n.x)
    // Per chunk: column 0, column 1, column 2 of ∂L/∂A, then ∂L/∂b.
    var partials = [SIMD3<Double>](repeating: .zero, count: 4 * chunks)
    partials.withUnsafeMutableBufferPointer { pb in
        let p = pb.baseAddress!
        parallelChunks(chunks, threads: threads) { c in
            var a0 = SIMD3<Double>.zero, a1 = SIMD3<Double>.zero, a2 = SIMD3<Double>.zero, b = SIMD3<Double>.zero
            for r in chunkRange(c, of: chunks, count: rows) {
                let j = r % n.y, k = r / n.y
                let (s, si) = row(j, k)
                a0 += si
                a1 += Double(j) * s
                a2 += Double(k) * s
                b += s
            }
            p[4 * c] = a0; p[4 * c + 1] = a1; p[4 * c + 2] = a2; p[4 * c + 3] = b
        }
    }
    var a0 = SIMD3<Double>.zero, a1 = SIMD3<Double>.zero, a2 = SIMD3<Double>.zero, b = SIMD3<Double>.zero
    for c in 0..<chunks {
        a0 += partials[4 * c]; a1 += partials[4 * c + 1]; a2 += partials[4 * c + 2]; b += partials[4 * c + 3]
    }
    // a0, a1, a2 are the columns of ∂L/∂A.
    return AffineGradient(linear: Matrix3(rows: a0, a1, a2).transposed, translation: b)
}
