import VolumeCore

/// The adjoint of trilinear warping (``TrilinearSampler/warp(onto:voxelMap:threads:)``) with
/// respect to the scan's voxels: splats `y[q]` (e.g. `∂L/∂warped`) into the 8 scan voxels around
/// `p = A·q + b` with the interpolation weights `w_c = Π_a (1 − |p_a − c_a|)`:
///
///     out[c] = Σ_q w_c(A·q + b) · y[q]
///
/// so `⟨warp(x), y⟩ = ⟨x, trilinearAdjoint(y)⟩` (to Float rounding) for every scan `x`: the
/// backward pass of the spatial transformer to the image. Corners outside the scan are dropped
/// (zero padding, ``Interpolation/linear``), and sample points are computed exactly as in the
/// forward kernels.
///
/// - Parameters:
///   - y: values on the target grid (its dims define `q`).
///   - scanGrid: the grid of the result (the scan's grid).
///   - voxelMap: `(A, b)`, target voxel indices to scan voxel coordinates.
/// - Returns: a volume on `scanGrid`.
///
/// Determinism: the scan is split into fixed slabs of k-slices, each filled by one chunk that
/// visits the target in index order; every scan voxel therefore receives its contributions in
/// target index order, whatever the number of threads (bitwise identical results).
public func trilinearAdjoint(_ y: Volume, scanGrid: Grid, voxelMap: Affine,
                             threads: Int = ThreadPolicy.defaultThreadCount) -> Volume {
    let nt = y.grid.dims
    let ns = scanGrid.dims
    let rm = _RowMap(voxelMap)
    let chunks = min(ns.z, 64)
    let rows = nt.y * nt.z
    var out = [Float](repeating: 0, count: scanGrid.voxelCount)
    y.voxels.withUnsafeBufferPointer { yb in
        out.withUnsafeMutableBufferPointer { ob in
            let yp = yb.baseAddress!, op = ob.baseAddress!
            let endX = Float(ns.x), endY = Float(ns.y), endZ = Float(ns.z)
            let sy = ns.x, sz = ns.x * ns.y
            parallelChunks(chunks, threads: threads) { c in
                let zr = chunkRange(c, of: chunks, count: ns.z)
                let zlo = zr.lowerBound, zhi = zr.upperBound
                for row in 0..<rows {
                    let (sx, syy, szz) = rm.start(row % nt.y, row / nt.y)
                    // Indices i whose corners can reach slices zlo..<zhi: ⌊p_z⌋ ∈ [zlo−1, zhi−1],
                    // i.e. p_z ∈ [zlo−1, zhi); widened by one index against rounding.
                    guard let (ilo, ihi) = _indexWindow(start: Double(szz), step: Double(rm.dz),
                                                        lo: Double(zlo - 1), hi: Double(zhi), count: nt.x)
                    else { continue }
                    let o = row * nt.x
                    for i in ilo...ihi {
                        let v = yp[o + i]
                        if v == 0 { continue }
                        let fi = Float(i)
                        let px = sx + fi * rm.dx, py = syy + fi * rm.dy, pz = szz + fi * rm.dz
                        // Same support test as the forward kernels: −1 < p < n (false for NaN).
                        guard px > -1, py > -1, pz > -1, px < endX, py < endY, pz < endZ else { continue }
                        let x0 = _floorInt(px), y0 = _floorInt(py), z0 = _floorInt(pz)
                        let tx = px - Float(x0), ty = py - Float(y0), tz = pz - Float(z0)
                        for dz in 0..<2 {
                            let z = z0 + dz
                            guard z >= zlo, z < zhi else { continue }
                            let wz = dz == 0 ? 1 - tz : tz
                            for dy in 0..<2 {
                                let yy = y0 + dy
                                guard yy >= 0, yy < ns.y else { continue }
                                let wyz = (dy == 0 ? 1 - ty : ty) * wz * v
                                let base = sy * yy + sz * z
                                if x0 >= 0 { op[base + x0] += (1 - tx) * wyz }
                                if x0 + 1 < ns.x { op[base + x0 + 1] += tx * wyz }
                            }
                        }
                    }
                }
            }
        }
    }
    return Volume(grid: scanGrid, voxels: out)
}

/// A superset of the indices `i ∈ 0..<count` whose Float-computed `start + i·step` lies in
/// `[lo, hi]`: the window is widened by a margin far above Float rounding of the coordinates
/// and by one index on each side. Nil when empty. Callers test each index exactly.
func _indexWindow(start: Double, step: Double, lo: Double, hi: Double, count: Int) -> (Int, Int)? {
    guard start.isFinite, step.isFinite else { return nil }
    let margin = 1e-4 * (1 + abs(start) + Double(count) * abs(step))
    let lo = lo - margin, hi = hi + margin
    var first = 0.0, last = Double(count - 1)
    if step == 0 {
        guard start >= lo, start <= hi else { return nil }
    } else {
        let a = (lo - start) / step, b = (hi - start) / step
        first = max(first, (min(a, b) - 1).rounded(.down))
        last = min(last, (max(a, b) + 1).rounded(.up))
    }
    guard first <= last else { return nil }
    return (Int(first), Int(last))
}
