import Foundation
import Network
import Sampling
import VolumeCore

/// Ranges of the synthetic subjects (issue #15), recorded in checkpoints and the model's provenance.
///
/// Every draw is uniform in its range unless said otherwise; the defaults are the shipped ones.
public struct SyntheticSubjectSettings: Codable, Equatable, Sendable {
    /// Largest relative change of brain size, about the brain's centre (0.15 = ±15 %), the
    /// same factor on each axis times ±3 % per axis.
    public var maxBrainScale: Double
    /// Standard deviation (mm) of the smooth displacement at each control point (a
    /// `controlPoints³` lattice over the frame, trilinear between them).
    public var displacementMM: Double
    public var controlPoints: Int
    /// Share of subjects rendered in a named contrast (T1, T2, PD, FLAIR, each class's signal
    /// ±0.08); the rest get a random intensity in [0, 1] per tissue class.
    public var namedContrastShare: Double
    /// Largest standard deviation of the per-parcel intensity offsets (grey and white matter).
    public var maxParcelJitter: Double
    /// Share of subjects with the non-brain head tissue (skull kept); the rest are brain only.
    public var skullKeptShare: Double
    /// Gamma `x ↦ x^γ` with `ln γ` uniform in `±ln(maxGamma)`.
    public var maxGamma: Double
    /// Largest multiplicative bias amplitude (``SyntheticContrast/applyBiasField(_:amplitude:rng:)``).
    public var maxBiasAmplitude: Double
    /// Largest noise σ as a fraction of the image maximum (Rician or Gaussian, even odds).
    public var maxNoiseFraction: Double
    /// Largest isotropic Gaussian blur σ (mm).
    public var maxBlurMM: Double
    /// Thick slices along one random frame axis: thickness (mm) uniform in this range, for
    /// `thickSliceShare` of the subjects.
    public var sliceThicknessMM: ClosedRange<Double>
    public var thickSliceShare: Double
    /// A random crop of the field of view (one side of one axis, up to `maxCropFraction` of the
    /// frame set to 0) for `cropShare` of the subjects.
    public var maxCropFraction: Double
    public var cropShare: Double
    /// Share of training items taken from the real training scans instead (when there are any).
    public var realScanShare: Double

    public init(maxBrainScale: Double = 0.15, displacementMM: Double = 2, controlPoints: Int = 5, namedContrastShare: Double = 0.5,
                maxParcelJitter: Double = 0.08, skullKeptShare: Double = 0.5, maxGamma: Double = 1.6, maxBiasAmplitude: Double = 0.3,
                maxNoiseFraction: Double = 0.05, maxBlurMM: Double = 1.5, sliceThicknessMM: ClosedRange<Double> = 1...6,
                thickSliceShare: Double = 0.6, maxCropFraction: Double = 0.25, cropShare: Double = 0.3,
                realScanShare: Double = 0.25) {
        precondition(controlPoints >= 2 && maxGamma >= 1 && sliceThicknessMM.lowerBound > 0, "invalid synthetic subject settings")
        self.maxBrainScale = maxBrainScale; self.displacementMM = displacementMM; self.controlPoints = controlPoints
        self.namedContrastShare = namedContrastShare; self.maxParcelJitter = maxParcelJitter; self.skullKeptShare = skullKeptShare
        self.maxGamma = maxGamma; self.maxBiasAmplitude = maxBiasAmplitude; self.maxNoiseFraction = maxNoiseFraction
        self.maxBlurMM = maxBlurMM; self.sliceThicknessMM = sliceThicknessMM; self.thickSliceShare = thickSliceShare
        self.maxCropFraction = maxCropFraction; self.cropShare = cropShare; self.realScanShare = realScanShare
    }
}

/// What one synthetic subject drew (for inspection and tests).
public struct SyntheticDraw: Sendable, Equatable {
    public var anatomy: Int
    /// The named contrast, or nil for random per-class intensities.
    public var contrast: Contrast?
    /// Signal of each tissue class (``TissueMemberships/Tissue`` order).
    public var signals: [Double]
    public var brainScale: SIMD3<Double>
    /// Largest displacement of a control point (mm).
    public var largestDisplacementMM: Double
    public var skullKept: Bool
    public var gamma: Double
    public var biasAmplitude: Double
    public var noiseFraction: Double
    public var blurMM: Double
    /// Thick slices: (frame axis, thickness mm), or nil.
    public var slices: (axis: Int, thicknessMM: Double)?
    /// Crop: (frame axis, from the high side, fraction), or nil.
    public var crop: (axis: Int, high: Bool, fraction: Double)?

    public static func == (a: Self, b: Self) -> Bool {
        a.anatomy == b.anatomy && a.contrast == b.contrast && a.signals == b.signals && a.brainScale == b.brainScale
            && a.largestDisplacementMM == b.largestDisplacementMM && a.skullKept == b.skullKept && a.gamma == b.gamma
            && a.biasAmplitude == b.biasAmplitude && a.noiseFraction == b.noiseFraction && a.blurMM == b.blurMM
            && a.slices?.axis == b.slices?.axis && a.slices?.thicknessMM == b.slices?.thicknessMM
            && a.crop?.axis == b.crop?.axis && a.crop?.high == b.crop?.high && a.crop?.fraction == b.crop?.fraction
    }
}

/// One synthetic subject on the network frame grid.
public struct SyntheticSample: Sendable {
    /// What the network sees: the subject in its random contrast, degraded, normalised to 0…1
    /// by the model's percentiles.
    public var input: Volume
    /// The same subject, same geometry, in the T1 contrast, brain only, clean, normalised: what
    /// the loss compares with the atlas after warping.
    public var t1: Volume
    /// The dominant class per voxel (``TissueMemberships/Tissue`` index + 1; 0 = background).
    public var labels: [UInt8]
    public var draw: SyntheticDraw
}

/// Seeded synthetic subjects from label maps (SynthMorph-style, Hoffmann et al. 2024), drawn
/// directly onto the network's frame grid.
///
/// A subject = an anatomy (``SyntheticAnatomy``), deformed (brain size about the brain centre
/// `c`, then a smooth displacement `d`), seen through the centre-of-mass start `T₀` and the
/// training perturbation `P` (normalised): at frame voxel `q`, the memberships are read
/// (trilinear) at anatomy point `x = c + S⁻¹·(T₀·N·P·V·q − c) + d(q)`, the parcel by nearest
/// neighbour. Then intensities (``render(_:draw:rng:)``) and degradations in the order a scanner
/// makes them: gamma, bias, blur, thick slices, noise, crop. The result is a pure function of
/// the generator's state: one generator per item gives the same bits for any thread count.
public struct SyntheticSubjectGenerator: Sendable {
    public let anatomies: [SyntheticAnatomy]
    public let settings: SyntheticSubjectSettings
    public let frame: NetworkFrame
    public let percentiles: (low: Double, high: Double)
    /// `T₀` per anatomy: translation of its brain centre to the atlas centre of mass.
    public let starts: [Affine]

    public init(anatomies: [SyntheticAnatomy], settings: SyntheticSubjectSettings, frame: NetworkFrame,
                atlasCentreMM: SIMD3<Double>, percentiles: [Double]) {
        precondition(!anatomies.isEmpty && percentiles.count == 2, "the generator needs an anatomy and two percentiles")
        self.anatomies = anatomies
        self.settings = settings
        self.frame = frame
        self.percentiles = (percentiles[0], percentiles[1])
        starts = anatomies.map { Affine.translation($0.brainCentreMM - atlasCentreMM) }
    }

    /// One subject seen through the normalised perturbation `p`.
    public func sample(perturbation p: Affine, rng: inout SeededGenerator, threads: Int = 1) -> SyntheticSample {
        let s = settings
        let a = Int(rng.next() % UInt64(anatomies.count))
        let anatomy = anatomies[a]
        let common = 1 + rng.uniform(-1, 1) * s.maxBrainScale
        let scale = SIMD3(common * (1 + rng.uniform(-0.03, 0.03)), common * (1 + rng.uniform(-0.03, 0.03)),
                          common * (1 + rng.uniform(-0.03, 0.03)))
        let cp = s.controlPoints
        var lattice = [SIMD3<Double>](repeating: .zero, count: cp * cp * cp)
        for n in lattice.indices { lattice[n] = SIMD3(rng.gaussian(), rng.gaussian(), rng.gaussian()) * s.displacementMM }
        var draw = SyntheticDraw(anatomy: a, contrast: nil, signals: [], brainScale: scale,
                                 largestDisplacementMM: lattice.map { length($0) }.max() ?? 0, skullKept: false,
                                 gamma: 1, biasAmplitude: 0, noiseFraction: 0, blurMM: 0, slices: nil, crop: nil)
        draw.skullKept = rng.uniform(0, 1) < s.skullKeptShare
        if rng.uniform(0, 1) < s.namedContrastShare {
            let c = Contrast.allCases[Int(rng.next() % UInt64(Contrast.allCases.count))]
            draw.contrast = c
            draw.signals = TissueMemberships.Tissue.allCases.map { max(0, c.signal($0) + rng.uniform(-0.08, 0.08)) }
        } else {
            draw.signals = TissueMemberships.Tissue.allCases.map { _ in rng.uniform(0, 1) }
        }
        let jitter = rng.uniform(0, s.maxParcelJitter)
        let offsets = (0..<SyntheticAnatomy.parcelCount).map { $0 == 0 ? 0 : Float(rng.gaussian() * jitter) }
        // Frame voxel → anatomy voxel (affine part).
        let g = anatomy.grid
        let c = anatomy.brainCentreMM
        let deform = Affine.translation(c) * Affine(linear: .diagonal(1 / scale), translation: .zero) * Affine.translation(-c)
        let toAnatomy = g.worldToVoxel * deform * frame.atlasToScan(normalised: p, start: starts[a]) * frame.normalisedToWorld
            * frame.voxelToNormalised
        let fields = warpedMemberships(anatomy, voxelMap: toAnatomy, lattice: lattice, threads: threads)
        var input = Volume(grid: frame.grid, voxels: render(fields, signals: draw.signals, offsets: offsets, skull: draw.skullKept))
        let t1Signals = TissueMemberships.Tissue.allCases.map { $0.index < 3 ? Contrast.t1.signal($0) : 0 }
        let t1 = Volume(grid: frame.grid, voxels: render(fields, signals: t1Signals, offsets: nil, skull: false))
        degrade(&input, draw: &draw, rng: &rng, threads: threads)
        return SyntheticSample(input: normalised(input), t1: normalised(t1), labels: fields.labels, draw: draw)
    }

    func normalised(_ v: Volume) -> Volume { ImagePreparation.robustNormalise(v, percentiles: percentiles).volume }

    /// The six membership maps and the parcel ids on the frame grid, and the dominant class.
    /// `m[t · n + v]` = class t's membership at frame voxel v.
    struct Fields { var m: [Float]; var parcels: [UInt8]; var labels: [UInt8] }

    func warpedMemberships(_ anatomy: SyntheticAnatomy, voxelMap: Affine, lattice: [SIMD3<Double>], threads: Int) -> Fields {
        let gs = frame.gridSize, n = gs * gs * gs
        let classes = TissueMemberships.Tissue.allCases.count
        var m = [Float](repeating: 0, count: classes * n)
        var parcels = [UInt8](repeating: 0, count: n), labels = parcels
        let d = anatomy.grid.dims
        let toVoxels = anatomy.grid.worldToVoxel.linear   // mm displacement → anatomy voxels
        let cp = settings.controlPoints
        let cellScale = Double(cp - 1) / Double(gs - 1)
        // The displacement in anatomy voxels at each control point.
        let latticeVoxels = lattice.map { toVoxels * $0 }
        anatomy.interleaved.withUnsafeBufferPointer { src in
            anatomy.parcels.withUnsafeBufferPointer { srcParcels in
                latticeVoxels.withUnsafeBufferPointer { latticeVoxels in
                parcels.withUnsafeMutableBufferPointer { parcels in
                labels.withUnsafeMutableBufferPointer { labels in
                m.withUnsafeMutableBufferPointer { m in
                    // 8³ tiles: neighbouring frame voxels read neighbouring anatomy voxels
                    // whatever the rotation, which keeps the reads in cache.
                    let tiles = (gs + 7) / 8
                    for tile in 0..<(tiles * tiles * tiles) {
                        let ti = tile % tiles * 8, tj = tile / tiles % tiles * 8, tk = tile / (tiles * tiles) * 8
                        for k in tk..<min(gs, tk + 8) {
                        for j in tj..<min(gs, tj + 8) {
                            for i in ti..<min(gs, ti + 8) {
                                // Smooth displacement: trilinear in the control lattice.
                                let l = SIMD3(Double(i), Double(j), Double(k)) * cellScale
                                let l0 = SIMD3<Int>(min(cp - 2, Int(l.x)), min(cp - 2, Int(l.y)), min(cp - 2, Int(l.z)))
                                let t = l - SIMD3<Double>(l0)
                                var disp = SIMD3<Double>.zero
                                for c in 0..<8 {
                                    let o = SIMD3(c & 1, (c >> 1) & 1, c >> 2)
                                    let w = (o.x == 1 ? t.x : 1 - t.x) * (o.y == 1 ? t.y : 1 - t.y) * (o.z == 1 ? t.z : 1 - t.z)
                                    let q = l0 &+ o
                                    disp += w * latticeVoxels[q.x + cp * (q.y + cp * q.z)]
                                }
                                let x = voxelMap.apply(SIMD3(Double(i), Double(j), Double(k))) + disp
                                guard x.x > -1, x.y > -1, x.z > -1, x.x < Double(d.x), x.y < Double(d.y), x.z < Double(d.z) else { continue }
                                let f = SIMD3(x.x.rounded(.down), x.y.rounded(.down), x.z.rounded(.down))
                                let i0 = Int(f.x), j0 = Int(f.y), k0 = Int(f.z)
                                let fx = Float(x.x - f.x), fy = Float(x.y - f.y), fz = Float(x.z - f.z)
                                let out = i + gs * (j + gs * k)
                                var sample = SIMD8<Float>()
                                let interior = i0 >= 0 && j0 >= 0 && k0 >= 0 && i0 + 1 < d.x && j0 + 1 < d.y && k0 + 1 < d.z
                                for corner in 0..<8 {
                                    let ci = i0 + (corner & 1), cj = j0 + ((corner >> 1) & 1), ck = k0 + (corner >> 2)
                                    // Only the volume's border voxels need the per-corner test.
                                    guard interior || (ci >= 0 && cj >= 0 && ck >= 0 && ci < d.x && cj < d.y && ck < d.z) else { continue }
                                    let w = ((corner & 1) == 1 ? fx : 1 - fx) * (((corner >> 1) & 1) == 1 ? fy : 1 - fy)
                                        * ((corner >> 2) == 1 ? fz : 1 - fz)
                                    let base = (ci + d.x * (cj + d.y * ck)) * SyntheticAnatomy.stride
                                    sample += w * SIMD8<Float>(UnsafeRawPointer(src.baseAddress! + base).loadUnaligned(as: SIMD8<UInt8>.self))
                                }
                                sample *= 1 / 255
                                var best: Float = 0, bestClass = -1
                                for t in 0..<classes {
                                    m[t * n + out] = sample[t]
                                    if sample[t] > best { best = sample[t]; bestClass = t }
                                }
                                if best >= 0.25 { labels[out] = UInt8(bestClass + 1) }
                                let ni = Int(x.x.rounded()), nj = Int(x.y.rounded()), nk = Int(x.z.rounded())
                                if ni >= 0, nj >= 0, nk >= 0, ni < d.x, nj < d.y, nk < d.z { parcels[out] = srcParcels[ni + d.x * (nj + d.y * nk)] }
                            }
                        }
                        }
                    }
                }
                }
                }
                }
            }
        }
        return Fields(m: m, parcels: parcels, labels: labels)
    }

    /// `Σ_t m_t · signal_t + (m_GM + m_WM) · offset(parcel)` (brain classes only without skull), ≥ 0.
    func render(_ f: Fields, signals: [Double], offsets: [Float]?, skull: Bool) -> [Float] {
        let n = f.parcels.count
        var out = [Float](repeating: 0, count: n)
        let classes = skull ? signals.count : 3
        for t in 0..<classes {
            let s = Float(signals[t])
            for v in 0..<n { out[v] += s * f.m[t * n + v] }
        }
        if let offsets {
            let gm = TissueMemberships.Tissue.greyMatter.index * n, wm = TissueMemberships.Tissue.whiteMatter.index * n
            for v in 0..<n { out[v] = max(0, out[v] + (f.m[gm + v] + f.m[wm + v]) * offsets[Int(f.parcels[v])]) }
        }
        return out
    }
}
