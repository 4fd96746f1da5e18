import Foundation


/// Intensity normalisation, centre of mass and foreground masks for registration.
public enum ImagePreparation {
    /// Maps intensities so that the `low`/`high` percentiles of the *non-background* voxels
    /// become 0 and 1, clipping to [0, 1]. Background = voxels equal to the volume's minimum
    /// (zero padding, air set to a constant). Non-finite voxels become 0.
    ///
    /// Percentiles come from a 65,536-bin histogram between the minimum and the maximum
    /// (linear within a bin): exact to 1/65,536 of the range, O(N), deterministic.
    /// Returns the normalised volume and the two intensities that were mapped to 0 and 1.
    /// Bit-identical for any `threads` (minimum, maximum and integer histogram counts do not
    /// depend on the order they are gathered in; the mapping is per voxel).
    public static func robustNormalise(_ v: Volume, percentiles: (low: Double, high: Double),
                                       threads: Int = 1) -> (volume: Volume, low: Float, high: Float) {
        let n = v.voxels.count
        let parts = max(1, min(threads, n / minimumVoxelsPerPart))
        let extremes = parallelMap(parts, threads: threads) { c -> (Float, Float) in
            var lo = Float.infinity, hi = -Float.infinity
            v.voxels.withUnsafeBufferPointer { x in
                for i in chunkRange(c, of: parts, count: n) where x[i].isFinite { lo = min(lo, x[i]); hi = max(hi, x[i]) }
            }
            return (lo, hi)
        }
        let minimum = extremes.map(\.0).min()!, maximum = extremes.map(\.1).max()!
        guard minimum.isFinite, maximum > minimum else { return (Volume(grid: v.grid), 0, 1) }
        let bins = 65_536
        let binScale = Double(bins) / (Double(maximum) - Double(minimum))
        let partial = parallelMap(parts, threads: threads) { c -> [Int] in
            var h = [Int](repeating: 0, count: bins)
            v.voxels.withUnsafeBufferPointer { x in
                for i in chunkRange(c, of: parts, count: n) where x[i].isFinite && x[i] > minimum {
                    h[min(bins - 1, Int((Double(x[i]) - Double(minimum)) * binScale))] += 1
                }
            }
            return h
        }
        var histogram = partial[0]
        for h in partial.dropFirst() { for b in 0..<bins { histogram[b] += h[b] } }
        let foreground = histogram.reduce(0, +)
        func percentile(_ p: Double) -> Float {
            let target = p / 100 * Double(foreground)
            var cumulative = 0.0
            for b in 0..<bins where histogram[b] > 0 {
                let next = cumulative + Double(histogram[b])
                if next >= target {
                    let within = (target - cumulative) / Double(histogram[b])
                    return Float(Double(minimum) + (Double(b) + within) / binScale)
                }
                cumulative = next
            }
            return maximum
        }
        var lo = percentile(percentiles.low), hi = percentile(percentiles.high)
        if !(hi > lo) { lo = minimum; hi = maximum }
        let scale = 1 / (hi - lo), low = lo
        var out = Volume(grid: v.grid)
        out.voxels.withUnsafeMutableBufferPointer { o in
            let dst = UncheckedSendable(o.baseAddress!)
            v.voxels.withUnsafeBufferPointer { src in
                parallelChunks(parts, threads: threads) { c in
                    for i in chunkRange(c, of: parts, count: n) {
                        let x = src[i]
                        dst.value[i] = x.isFinite ? min(1, max(0, (x - low) * scale)) : 0
                    }
                }
            }
        }
        return (out, lo, hi)
    }

    /// Below this many voxels per thread the whole-volume kernels here run on one thread.
    static let minimumVoxelsPerPart = 1 << 16

    /// Intensity-weighted centre of mass in world mm (negative values count as 0).
    /// Nil when the volume has no positive voxel.
    /// Per-row sums are formed in parallel and added in row order, as one thread would:
    /// bit-identical for any `threads`.
    public static func centreOfMass(_ v: Volume, threads: Int = 1) -> SIMD3<Double>? {
        let d = v.dims
        // Per row (j, k): Σx and Σx·i.
        let rows = parallelMap(d.z, threads: d.x * d.y * d.z < minimumVoxelsPerPart ? 1 : threads) { k -> [SIMD2<Double>] in
            v.voxels.withUnsafeBufferPointer { x in
                (0..<d.y).map { j in
                    var rowW = 0.0, rowI = 0.0
                    let base = v.grid.index(0, j, k)
                    for i in 0..<d.x {
                        let value = Double(max(0, x[base + i]))
                        rowW += value
                        rowI += value * Double(i)
                    }
                    return SIMD2(rowW, rowI)
                }
            }
        }
        var sum = SIMD3<Double>.zero
        var w = 0.0
        for k in 0..<d.z {
            for j in 0..<d.y {
                let (rowW, rowI) = (rows[k][j].x, rows[k][j].y)
                sum += SIMD3(rowI, Double(j) * rowW, Double(k) * rowW)
                w += rowW
            }
        }
        guard w > 0 else { return nil }
        return v.voxelToWorld.apply(sum / w)
    }

    /// RMS distance (mm) of the intensity mass from its centre: a size for normalising radii.
    public static func radiusOfGyration(_ v: Volume, centre: SIMD3<Double>) -> Double {
        let d = v.dims
        var s = 0.0, w = 0.0
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<d.x {
                    let x = Double(max(0, v[i, j, k]))
                    if x == 0 { continue }
                    let p = v.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k))) - centre
                    s += x * dot(p, p)
                    w += x
                }
            }
        }
        return w > 0 ? (s / w).squareRoot() : 1
    }

    /// 1 where `v > threshold`, dilated by `dilation` voxels (a cube), else 0.
    /// Bit-identical for any `threads` (each pass writes disjoint slices).
    public static func mask(_ v: Volume, threshold: Float, dilation: Int, threads: Int = 1) -> [Float] {
        let d = v.dims
        let t = d.x * d.y * d.z < minimumVoxelsPerPart ? 1 : threads
        var m = [Float](repeating: 0, count: v.voxels.count)
        m.withUnsafeMutableBufferPointer { o in
            let dst = UncheckedSendable(o.baseAddress!)
            v.voxels.withUnsafeBufferPointer { x in
                parallelChunks(d.z, threads: t) { k in
                    for n in (k * d.x * d.y)..<((k + 1) * d.x * d.y) { dst.value[n] = x[n] > threshold ? 1 : 0 }
                }
            }
        }
        guard dilation > 0 else { return m }
        // Separable max filter along each axis, slice by slice.
        for axis in 0..<3 {
            var out = m
            let n = d[axis]
            let strideAxis = axis == 0 ? 1 : (axis == 1 ? d.x : d.x * d.y)
            out.withUnsafeMutableBufferPointer { o in
                let dst = UncheckedSendable(o.baseAddress!)
                m.withUnsafeBufferPointer { m in
                    parallelChunks(d.z, threads: t) { k in
                        for j in 0..<d.y {
                            for i in 0..<d.x {
                                let pos = axis == 0 ? i : (axis == 1 ? j : k)
                                let idx = v.grid.index(i, j, k)
                                if m[idx] > 0 { continue }
                                for o in max(0, pos - dilation)...min(n - 1, pos + dilation) where m[idx + (o - pos) * strideAxis] > 0 {
                                    dst.value[idx] = 1
                                    break
                                }
                            }
                        }
                    }
                }
            }
            m = out
        }
        return m
    }
}

extension ImagePreparation {
    /// World bounding box (mm) of the voxel centres above `threshold`, grown by `marginMM`;
    /// the whole grid's box when no voxel is above it.
    public static func foregroundBox(_ v: Volume, threshold: Float, marginMM: Double,
                                     threads: Int = 1) -> (min: SIMD3<Double>, max: SIMD3<Double>) {
        let d = v.dims
        let t = d.x * d.y * d.z < minimumVoxelsPerPart ? 1 : threads
        // Per slice: the extremes of the foreground's voxel indices (exact for any order).
        let slices = parallelMap(d.z, threads: t) { k -> (SIMD3<Int>, SIMD3<Int>) in
            var lo = SIMD3<Int>(d.x, d.y, d.z), hi = SIMD3<Int>(-1, -1, -1)
            v.voxels.withUnsafeBufferPointer { x in
                for j in 0..<d.y {
                    let base = v.grid.index(0, j, k)
                    for i in 0..<d.x where x[base + i] > threshold {
                        lo = pointwiseMin(lo, SIMD3(i, j, k))
                        hi = pointwiseMax(hi, SIMD3(i, j, k))
                    }
                }
            }
            return (lo, hi)
        }
        var lo = SIMD3<Int>(d.x, d.y, d.z), hi = SIMD3<Int>(-1, -1, -1)
        for s in slices { lo = pointwiseMin(lo, s.0); hi = pointwiseMax(hi, s.1) }
        guard hi.x >= 0 else { return v.grid.worldBoundingBox }
        let sub = Grid(dims: hi &- lo &+ 1, voxelToWorld: v.voxelToWorld * Affine.translation(SIMD3<Double>(lo)))
        let b = sub.worldBoundingBox
        let margin = SIMD3<Double>(repeating: marginMM)
        return (b.min - margin, b.max + margin)
    }
}
