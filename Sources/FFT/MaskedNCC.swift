import Foundation
import VolumeCore

/// Settings of ``maskedNCC(fixed:fixedMask:fixedDims:moving:movingMask:movingDims:options:threads:)``.
public struct MaskedNCCOptions: Sendable, Equatable {
    /// Shifts whose overlap `Σ_x mf(x)·mm(x + s)` is below this fraction of the smaller
    /// mask's total weight get NCC 0 and are never chosen: a handful of overlapping voxels
    /// can correlate perfectly by chance. In (0, 1].
    public var minimumOverlapFraction: Double
    /// If set, only shifts with `|s_d| ≤ maximumShift_d` (voxels) compete for the best.
    /// The map still covers every shift the search computes (all of them, or those of its
    /// shift window: ``MaskedNCCSearch/init(fixed:fixedMask:fixedDims:movingDims:shiftWindow:threads:)``).
    public var maximumShift: SIMD3<Int>?
    /// Shifts where either image's variance over the overlap is below this fraction of its
    /// variance over its whole mask get NCC 0 (flat regions; Float32 FFT round-off makes the
    /// variance unreliable there).
    public var relativeVarianceFloor: Double

    public init(minimumOverlapFraction: Double = 0.2, maximumShift: SIMD3<Int>? = nil,
                relativeVarianceFloor: Double = 1e-3) {
        precondition(minimumOverlapFraction > 0 && minimumOverlapFraction <= 1, "minimumOverlapFraction must be in (0, 1]")
        precondition(relativeVarianceFloor >= 0, "relativeVarianceFloor must be ≥ 0")
        self.minimumOverlapFraction = minimumOverlapFraction
        self.maximumShift = maximumShift
        self.relativeVarianceFloor = relativeVarianceFloor
    }
}

/// The masked NCC of every translation, and the best one.
public struct MaskedNCCResult: Sendable {
    /// NCC at each shift `s ∈ [1 − fixedDims, movingDims − 1]` (within the search's shift
    /// window when it has one); 0 where the shift does not qualify (overlap or variance too
    /// small). Values in [−1, 1].
    public var ncc: ShiftMap
    /// Overlap weight `Σ_x mf(x)·mm(x + s)` at each shift (voxels, for binary masks).
    public var overlap: ShiftMap
    /// The overlap a shift needed to qualify.
    public var minimumOverlap: Double
    /// The qualifying shift of largest NCC (ties: the first in map order), or nil when no
    /// shift qualifies (e.g. an empty mask or a constant image).
    public var bestShift: SIMD3<Int>?
    /// NCC at `bestShift` (0 when there is none).
    public var bestNCC: Float
}

/// Masked normalised cross-correlation for every integer translation, with a handful of FFTs
/// (Padfield, "Masked object registration in the Fourier domain", IEEE TIP 2012).
///
/// **Definition.** For a shift `s` (voxels of the common grid), with weights
/// `w_s(x) = mf(x)·mm(x + s)` (zero outside either array):
///
///     NCC(s) = Σ w_s (f − f̄_s)(m(· + s) − m̄_s) / sqrt(Σ w_s (f − f̄_s)² · Σ w_s (m(· + s) − m̄_s)²)
///
/// the weighted Pearson correlation of `f(x)` and `m(x + s)` over the overlap, where `f̄_s`,
/// `m̄_s` are weighted means over that same overlap (not over the whole masks).
///
/// **Sign convention.** The best `s` is the one with `moving(x + s) ≈ fixed(x)`: the content
/// at fixed voxel `x` is found at moving voxel `x + s`. With the fixed image = atlas and the
/// moving image = scan on grids of equal spacing and origin, `s` (times the spacing) is the
/// translation of `atlasToScan` (DESIGN.md: `warped(x) = scan(T·x)`).
///
/// **Method.** Six overlap sums `Σ w_s`, `Σ w_s f`, `Σ w_s m`, `Σ w_s f²`, `Σ w_s m²`,
/// `Σ w_s f m` are cross-correlations of `mf`, `mf·f`, `mf·f²` with `mm`, `mm·m`, `mm·m²`:
/// 6 forward and 6 inverse real FFTs of size ``FFTPadding/linearCorrelationDims(_:_:)``
/// (≥ `fixedDims + movingDims − 1`, so shifts do not wrap), run in parallel over `threads`.
/// Each image is first centred and scaled to unit variance over its mask (NCC is invariant
/// to that) to limit cancellation in `Σ f² − (Σ f)²/N`, which is evaluated in Double from
/// Float32 FFT outputs. Masks may be weights ≥ 0 (then `w_s` is a product of weights);
/// `nil` means all ones. O(N log N); identical bits for any `threads`.
///
/// What does not hold: NCC is not exact at shifts whose overlap variance is tiny compared
/// with the Float32 round-off of the whole-image sums — those are set to 0 (see
/// ``MaskedNCCOptions/relativeVarianceFloor``).
public func maskedNCC(fixed: [Float], fixedMask: [Float]?, fixedDims: SIMD3<Int>,
                      moving: [Float], movingMask: [Float]?, movingDims: SIMD3<Int>,
                      options: MaskedNCCOptions = MaskedNCCOptions(),
                      threads: Int = ThreadPolicy.defaultThreadCount) -> MaskedNCCResult {
    MaskedNCCSearch(fixed: fixed, fixedMask: fixedMask, fixedDims: fixedDims, movingDims: movingDims, threads: threads)
        .search(moving: moving, movingMask: movingMask, options: options, threads: threads)
}

/// The fixed side of a masked-NCC translation search, transformed once and reused for many
/// moving images of one shape (e.g. the scan under each candidate rotation): each
/// ``search(moving:movingMask:options:threads:)`` then costs 3 forward and 6 inverse FFTs
/// instead of 6 + 6. Same definition, conventions and bits as
/// ``maskedNCC(fixed:fixedMask:fixedDims:moving:movingMask:movingDims:options:threads:)``.
public struct MaskedNCCSearch: Sendable {
    public let fixedDims: SIMD3<Int>
    public let movingDims: SIMD3<Int>
    /// FFT shape: a good size ≥ `fixedDims + movingDims − 1` per axis, or with a shift window
    /// ≥ `max(fixedDims, movingDims) + window` (whichever is smaller).
    public let paddedDims: SIMD3<Int>
    /// The shifts computed: from `minShift`, `mapDims` of them per axis (every shift
    /// `[1 − fixedDims, movingDims − 1]`, or those within the window).
    public let minShift: SIMD3<Int>
    public let mapDims: SIMD3<Int>
    /// Spectra of `mf`, `mf·f̂`, `mf·f̂²` (f̂ = fixed centred and scaled over its mask).
    private let fixedSpectra: [HalfSpectrum]
    private let fixedWeight: Double

    /// With `shiftWindow` only the shifts `|s_d| ≤ shiftWindow_d` are computed: a cyclic
    /// correlation of period `P ≥ max(fixedDims, movingDims) + window` cannot fold a nonzero
    /// term (shifts `[1 − fixedDims, movingDims − 1]`) onto a shift inside the window, so
    /// those values are the linear correlation's — at a third of the FFT volume for a
    /// 60 mm window on a 6 mm level. The values agree with the full map's to Float32 FFT
    /// round-off (a different transform size), not bit for bit.
    public init(fixed: [Float], fixedMask: [Float]?, fixedDims: SIMD3<Int>, movingDims: SIMD3<Int>,
                shiftWindow: SIMD3<Int>? = nil, threads: Int = ThreadPolicy.defaultThreadCount) {
        let nf = fixedDims.x * fixedDims.y * fixedDims.z
        precondition(fixed.count == nf && (fixedMask?.count ?? nf) == nf, "fixed image and mask must have \(nf) values (shape \(fixedDims))")
        precondition(movingDims.x >= 1 && movingDims.y >= 1 && movingDims.z >= 1, "moving dimensions must be positive")
        self.fixedDims = fixedDims
        self.movingDims = movingDims
        let full = fixedDims &+ movingDims &- 1
        if let w = shiftWindow {
            precondition(w.x >= 0 && w.y >= 0 && w.z >= 0, "shift window must be ≥ 0")
            let lo = pointwiseMax(1 &- fixedDims, 0 &- w), hi = pointwiseMin(movingDims &- 1, w)
            minShift = lo
            mapDims = hi &- lo &+ 1   // lo ≤ 0 ≤ hi on every axis
            paddedDims = FFTPadding.goodDims(atLeast: pointwiseMin(full, pointwiseMax(fixedDims, movingDims) &+ w))
        } else {
            minShift = 1 &- fixedDims
            mapDims = full
            paddedDims = FFTPadding.linearCorrelationDims(fixedDims, movingDims)
        }
        let padded = paddedDims
        let f = weightedPowers(fixed, mask: fixedMask)
        let inputs = [f.w, f.wx, f.wx2]
        fixedSpectra = parallelMap(inputs.count, threads: threads) { n in
            FFTPlanCache.shared.withPlan(dims: padded) { $0.forward(zeroPadding: inputs[n], dims: fixedDims) }
        }
        fixedWeight = f.totalWeight
    }

    /// NCC of every shift of `moving` (shape `movingDims`) against the fixed image, and the best.
    public func search(moving: [Float], movingMask: [Float]?, options: MaskedNCCOptions = MaskedNCCOptions(),
                       threads: Int = ThreadPolicy.defaultThreadCount) -> MaskedNCCResult {
        let nm = movingDims.x * movingDims.y * movingDims.z
        precondition(moving.count == nm && (movingMask?.count ?? nm) == nm, "moving image and mask must have \(nm) values (shape \(movingDims))")
        let padded = paddedDims, movingDims = movingDims
        let m = weightedPowers(moving, mask: movingMask)
        let inputs = [m.w, m.wx, m.wx2]
        let ms = parallelMap(inputs.count, threads: threads) { n in
            FFTPlanCache.shared.withPlan(dims: padded) { $0.forward(zeroPadding: inputs[n], dims: movingDims) }
        }
        let s = fixedSpectra + ms
        // (fixed term, moving term) → N, Σf, Σm, Σf², Σm², Σfm
        let pairs = [(0, 3), (1, 3), (0, 4), (2, 3), (0, 5), (1, 4)]
        let minShift = minShift, mapDims = mapDims
        let maps = parallelMap(pairs.count, threads: threads) { n in
            let product = HalfSpectrum.conjugateProduct(s[pairs[n].0], s[pairs[n].1])
            return FFTPlanCache.shared.withPlan(dims: padded) { $0.inverse(product, minShift: minShift, window: mapDims) }
        }

        let count = mapDims.x * mapDims.y * mapDims.z
        let minimumOverlap = options.minimumOverlapFraction * min(fixedWeight, m.totalWeight)
        let floor = options.relativeVarianceFloor
        var ncc = [Float](repeating: 0, count: count)
        let overlap = maps[0]
        ncc.withUnsafeMutableBufferPointer { out in
            let box = UncheckedSendable(out.baseAddress!)
            let chunks = mapDims.z
            parallelChunks(chunks, threads: threads) { c in
                for n in chunkRange(c, of: chunks, count: count) {
                    let w = Double(overlap[n])
                    guard w >= minimumOverlap, w > 0 else { box.value[n] = 0; continue }
                    let sf = Double(maps[1][n]), sm = Double(maps[2][n])
                    let vf = Double(maps[3][n]) - sf * sf / w
                    let vm = Double(maps[4][n]) - sm * sm / w
                    // Images have unit variance over their masks, so vf/w is relative to that.
                    guard vf > floor * w, vm > floor * w else { box.value[n] = 0; continue }
                    let cov = Double(maps[5][n]) - sf * sm / w
                    box.value[n] = Float(max(-1, min(1, cov / (vf * vm).squareRoot())))
                }
            }
        }
        let nccMap = ShiftMap(minShift: minShift, dims: mapDims, values: ncc)
        let overlapMap = ShiftMap(minShift: minShift, dims: mapDims, values: overlap)

        var best: SIMD3<Int>? = nil
        var bestValue = -Float.infinity
        let limit = options.maximumShift ?? mapDims
        var n = 0
        for k in 0..<mapDims.z {
            for j in 0..<mapDims.y {
                for i in 0..<mapDims.x {
                    defer { n += 1 }
                    let shift = minShift &+ SIMD3(i, j, k)
                    guard Double(overlap[n]) >= minimumOverlap, overlap[n] > 0, ncc[n] > bestValue,
                          abs(shift.x) <= limit.x, abs(shift.y) <= limit.y, abs(shift.z) <= limit.z else { continue }
                    bestValue = ncc[n]; best = shift
                }
            }
        }
        // A flat shift that qualifies by overlap has NCC 0: it is the best only when no shift
        // correlates positively, which is still the maximum of the map.
        return MaskedNCCResult(ncc: nccMap, overlap: overlapMap, minimumOverlap: minimumOverlap,
                               bestShift: best, bestNCC: best == nil ? 0 : bestValue)
    }
}

/// `w`, `w·x̂`, `w·x̂²` where `x̂` is `x` centred and scaled to unit variance over the weights.
private func weightedPowers(_ x: [Float], mask: [Float]?) -> (w: [Float], wx: [Float], wx2: [Float], totalWeight: Double) {
    let w = mask ?? [Float](repeating: 1, count: x.count)
    var sw = 0.0, swx = 0.0
    for n in 0..<x.count {
        precondition(w[n] >= 0, "mask weights must be ≥ 0")
        sw += Double(w[n]); swx += Double(w[n]) * Double(x[n])
    }
    let mean = sw > 0 ? swx / sw : 0
    var swd2 = 0.0
    for n in 0..<x.count {
        let d = Double(x[n]) - mean
        swd2 += Double(w[n]) * d * d
    }
    let sd = sw > 0 && swd2 > 0 ? (swd2 / sw).squareRoot() : 1
    var wx = [Float](repeating: 0, count: x.count), wx2 = wx
    for n in 0..<x.count where w[n] != 0 {
        let v = (Double(x[n]) - mean) / sd
        wx[n] = Float(Double(w[n]) * v)
        wx2[n] = Float(Double(w[n]) * v * v)
    }
    return (w, wx, wx2, sw)
}

/// The world translation (mm) implied by a voxel shift between two grids with the same
/// linear part (spacing and orientation), e.g. the working grids of atlas and scan.
///
/// With fixed = atlas and moving = scan, fixed voxel `x` at world `p = L·x + o_f` matches
/// moving voxel `x + s` at `q = L·(x + s) + o_m`, so `q = p + L·s + (o_m − o_f)`: the
/// result is the translation `t` of `atlasToScan = (I, t)` (DESIGN.md: `warped(x) = scan(T·x)`).
/// Traps when the linear parts differ by more than 1e-6 (resample onto a common grid first).
public func worldTranslation(ofShift s: SIMD3<Int>, fixedGrid: Grid, movingGrid: Grid) -> SIMD3<Double> {
    let lf = fixedGrid.voxelToWorld.linear, lm = movingGrid.voxelToWorld.linear
    precondition(Matrix3.maxAbsDifference(lf, lm) <= 1e-6,
                 "voxel shifts map to world translations only between grids with the same spacing and orientation")
    return lf * SIMD3<Double>(s) + (movingGrid.voxelToWorld.translation - fixedGrid.voxelToWorld.translation)
}
