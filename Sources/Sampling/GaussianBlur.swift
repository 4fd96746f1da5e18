import Foundation
import VolumeCore

/// Separable Gaussian blur along the voxel axes i, j, k.
///
/// - Parameters:
///   - sigmaMM: standard deviation along voxel axes i, j, k in mm; converted to voxels with the
///     grid's spacing (`σ_a / spacingMM_a`). An axis with `σ ≤ 0` or a radius of 0 voxels is left
///     as is.
/// - Kernel: `exp(−t² / 2σ²)` for integer offsets `|t| ≤ R = ⌈3σ⌉` voxels (truncated at 3σ).
///   **Renormalised at the borders**: at each output voxel the taps falling outside the volume
///   are dropped and the remaining weights divided by their sum, so a constant image stays
///   constant up to the edges (no dark rim). The 3D result equals a direct 3D convolution with
///   the product kernel renormalised over the part of the box inside the volume.
/// - Does not hold: for an oblique grid the blur follows the voxel axes, not the world axes.
///
/// Deterministic: each output voxel is a sum in fixed tap order; identical for any `threads`.
public func gaussianBlur(_ v: Volume, sigmaMM: SIMD3<Double>,
                         threads: Int = ThreadPolicy.defaultThreadCount) -> Volume {
    let spacing = v.grid.spacingMM
    var out = v
    for axis in 0..<3 {
        let s = sigmaMM[axis] / spacing[axis]
        guard s > 0, s.isFinite else { continue }
        let taps = _gaussianTaps(sigmaVoxels: s)
        guard taps.count > 1 else { continue }
        out = _blurAxis(out, axis: axis, taps: taps, threads: threads)
    }
    return out
}

/// Blurs `v` to anti-alias it for `target`, then resamples it there trilinearly (world to world,
/// as ``resample(_:onto:interpolation:threads:)``).
///
/// **Sigma**: along each voxel axis `a` of the source, with source spacing `s_a` and the target
/// spacing `t_a` seen along that axis (`t_a = 1 / |target.worldToVoxel.linear · u_a|`, `u_a`
/// the unit world direction of axis `a`; for axis-aligned grids simply the target's spacing),
///
///     σ_a = sqrt(max(0, t_a² − s_a²)) / (2·sqrt(2·ln 2))   mm
///
/// i.e. the Gaussian that raises the FWHM of one source voxel (`s_a`) to the target spacing
/// (`t_a`). No blur where the target is as fine as the source or finer.
/// Example: 1 mm → 2 mm gives σ = 0.74 mm; 1 mm → 4 mm gives σ = 1.64 mm.
///
/// When the target's voxel axes map onto the source's (a diagonal voxel map), the blur and the
/// sampling run fused, one decimating pass per axis (`_separableSmoothAndResample`; the same
/// result up to Float32 rounding).
public func smoothAndResample(_ v: Volume, onto target: Grid,
                              threads: Int = ThreadPolicy.defaultThreadCount) -> Volume {
    let sigma = antiAliasingSigmaMM(from: v.grid, to: target)
    let map = targetVoxelToScanVoxel(target: target, scan: v.grid, atlasToScan: .identity)
    if _isAxisAligned(map) {
        return _separableSmoothAndResample(v, onto: target, sigmaMM: sigma, voxelMap: map, threads: threads)
    }
    let smoothed = gaussianBlur(v, sigmaMM: sigma, threads: threads)
    return resample(smoothed, onto: target, atlasToScan: .identity, interpolation: .linear, threads: threads)
}

/// The blur of ``smoothAndResample(_:onto:threads:)``: per source voxel axis, in mm.
public func antiAliasingSigmaMM(from source: Grid, to target: Grid) -> SIMD3<Double> {
    let s = source.spacingMM
    let toTargetVoxels = target.worldToVoxel.linear
    var sigma = SIMD3<Double>.zero
    let fwhmPerSigma = 2 * (2 * log(2.0)).squareRoot()
    for a in 0..<3 {
        let u = source.voxelToWorld.linear.column(a) / s[a]
        let t = 1 / length(toTargetVoxels * u)
        sigma[a] = max(0, t * t - s[a] * s[a]).squareRoot() / fwhmPerSigma
    }
    return sigma
}

/// Taps `exp(−t²/2σ²)` for `t = −R…R`, `R = ⌈3σ⌉` (not normalised; the blur normalises).
func _gaussianTaps(sigmaVoxels s: Double) -> [Double] {
    let r = Int((3 * s).rounded(.up))
    return (-r...r).map { t in exp(-Double(t * t) / (2 * s * s)) }
}

/// One 1D pass of the renormalised blur along `axis`.
private func _blurAxis(_ v: Volume, axis: Int, taps: [Double], threads: Int) -> Volume {
    let n = v.grid.dims
    let len = n[axis]
    let r = (taps.count - 1) / 2
    let stride = axis == 0 ? 1 : (axis == 1 ? n.x : n.x * n.y)
    // Per position along the axis: 1 / (sum of the taps that fall inside).
    let norm: [Float] = (0..<len).map { x in
        var s = 0.0
        for t in -r...r where x + t >= 0 && x + t < len { s += taps[t + r] }
        return Float(1 / s)
    }
    let w = taps.map { Float($0) }
    // Work is split into fixed chunks of rows (j, k) along i, whatever the axis.
    let rows = n.y * n.z
    let chunks = _rowChunkCount(rows: rows, rowLength: n.x)
    var out = [Float](repeating: 0, count: v.grid.voxelCount)
    v.voxels.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            let s = src.baseAddress!, d = dst.baseAddress!
            w.withUnsafeBufferPointer { wb in
                norm.withUnsafeBufferPointer { nb in
                    parallelChunks(chunks, threads: threads) { c in
                        for row in chunkRange(c, of: chunks, count: rows) {
                            let o = row * n.x
                            if axis == 0 {
                                for x in 0..<len {
                                    let tlo = max(-r, -x), thi = min(r, len - 1 - x)
                                    var acc: Float = 0
                                    var t = tlo
                                    while t <= thi {
                                        acc += wb[t + r] * s[o + x + t]
                                        t += 1
                                    }
                                    d[o + x] = acc * nb[x]
                                }
                            } else {
                                // Position of this row along the axis; whole rows are combined,
                                // so the inner loop runs over contiguous i. Taps in fixed order.
                                let x = axis == 1 ? row % n.y : row / n.y
                                let tlo = max(-r, -x), thi = min(r, len - 1 - x)
                                for t in tlo...thi {
                                    let wt = wb[t + r]
                                    let so = o + t * stride
                                    for i in 0..<n.x { d[o + i] += wt * s[so + i] }
                                }
                                let f = nb[x]
                                for i in 0..<n.x { d[o + i] *= f }
                            }
                        }
                    }
                }
            }
        }
    }
    return Volume(grid: v.grid, voxels: out)
}
