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
    public static func robustNormalise(_ v: Volume, percentiles: (low: Double, high: Double)) -> (volume: Volume, low: Float, high: Float) {
        let n = v.voxels.count
        var minimum = Float.infinity, maximum = -Float.infinity
        for x in v.voxels where x.isFinite { minimum = min(minimum, x); maximum = max(maximum, x) }
        guard minimum.isFinite, maximum > minimum else { return (Volume(grid: v.grid), 0, 1) }
        let bins = 65_536
        var histogram = [Int](repeating: 0, count: bins)
        let binScale = Double(bins) / (Double(maximum) - Double(minimum))
        var foreground = 0
        for x in v.voxels where x.isFinite && x > minimum {
            let b = min(bins - 1, Int((Double(x) - Double(minimum)) * binScale))
            histogram[b] += 1
            foreground += 1
        }
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
        let scale = 1 / (hi - lo)
        var out = Volume(grid: v.grid)
        out.voxels.withUnsafeMutableBufferPointer { o in
            v.voxels.withUnsafeBufferPointer { src in
                for i in 0..<n {
                    let x = src[i]
                    o[i] = x.isFinite ? min(1, max(0, (x - lo) * scale)) : 0
                }
            }
        }
        return (out, lo, hi)
    }

    /// Intensity-weighted centre of mass in world mm (negative values count as 0).
    /// Nil when the volume has no positive voxel.
    public static func centreOfMass(_ v: Volume) -> SIMD3<Double>? {
        let d = v.dims
        var sum = SIMD3<Double>.zero
        var w = 0.0
        for k in 0..<d.z {
            for j in 0..<d.y {
                var rowW = 0.0, rowI = 0.0
                let base = v.grid.index(0, j, k)
                for i in 0..<d.x {
                    let x = Double(max(0, v.voxels[base + i]))
                    rowW += x
                    rowI += x * Double(i)
                }
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
    public static func mask(_ v: Volume, threshold: Float, dilation: Int) -> [Float] {
        let d = v.dims
        var m = v.voxels.map { $0 > threshold ? Float(1) : 0 }
        guard dilation > 0 else { return m }
        // Separable max filter along each axis.
        for axis in 0..<3 {
            var out = m
            let n = d[axis]
            let strideAxis = axis == 0 ? 1 : (axis == 1 ? d.x : d.x * d.y)
            for k in 0..<d.z {
                for j in 0..<d.y {
                    for i in 0..<d.x {
                        let pos = axis == 0 ? i : (axis == 1 ? j : k)
                        let idx = v.grid.index(i, j, k)
                        if m[idx] > 0 { continue }
                        var hit = false
                        for o in max(0, pos - dilation)...min(n - 1, pos + dilation) where m[idx + (o - pos) * strideAxis] > 0 {
                            hit = true; break
                        }
                        if hit { out[idx] = 1 }
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
    public static func foregroundBox(_ v: Volume, threshold: Float, marginMM: Double) -> (min: SIMD3<Double>, max: SIMD3<Double>) {
        let d = v.dims
        var lo = SIMD3<Int>(d.x, d.y, d.z), hi = SIMD3<Int>(-1, -1, -1)
        for k in 0..<d.z {
            for j in 0..<d.y {
                let base = v.grid.index(0, j, k)
                for i in 0..<d.x where v.voxels[base + i] > threshold {
                    lo = pointwiseMin(lo, SIMD3(i, j, k))
                    hi = pointwiseMax(hi, SIMD3(i, j, k))
                }
            }
        }
        guard hi.x >= 0 else { return v.grid.worldBoundingBox }
        let sub = Grid(dims: hi &- lo &+ 1, voxelToWorld: v.voxelToWorld * Affine.translation(SIMD3<Double>(lo)))
        let b = sub.worldBoundingBox
        let margin = SIMD3<Double>(repeating: marginMM)
        return (b.min - margin, b.max + margin)
    }
}
