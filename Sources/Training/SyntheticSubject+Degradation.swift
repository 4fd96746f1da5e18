import Foundation
import Sampling
import VolumeCore

extension SyntheticSubjectGenerator {
    /// The scanner's side, in order: gamma `(x / max)^γ`, a smooth multiplicative bias, an
    /// isotropic Gaussian blur, thick slices along one frame axis (a Gaussian slice profile of
    /// FWHM = thickness, sampled at the slice centres and interpolated back onto the frame grid,
    /// ``SyntheticContrast/thickSlices(_:axis:thicknessMM:threads:)``; only when thicker than
    /// the frame spacing), Rician or Gaussian noise, then a crop of one side of one axis.
    /// Each draw is recorded in `draw`.
    func degrade(_ v: inout Volume, draw: inout SyntheticDraw, rng: inout SeededGenerator, threads: Int) {
        let s = settings
        let top = max(v.voxels.max() ?? 0, 1e-6)
        draw.gamma = exp(rng.uniform(-1, 1) * log(s.maxGamma))
        let power = Float(draw.gamma)
        for n in v.voxels.indices { v.voxels[n] = powf(max(0, v.voxels[n] / top), power) }
        draw.biasAmplitude = rng.uniform(0, s.maxBiasAmplitude)
        if draw.biasAmplitude > 0 { SyntheticContrast.applyBiasField(&v, amplitude: draw.biasAmplitude, rng: &rng) }
        draw.blurMM = rng.uniform(0, s.maxBlurMM)
        if draw.blurMM > 0.1 { v = gaussianBlur(v, sigmaMM: SIMD3(repeating: draw.blurMM), threads: threads) }
        if rng.uniform(0, 1) < s.thickSliceShare {
            let axis = Int(rng.next() % 3)
            let t = rng.uniform(s.sliceThicknessMM.lowerBound, s.sliceThicknessMM.upperBound)
            draw.slices = (axis, t)
            if t > v.grid.spacingMM[axis] * 1.05 {
                let thick = SyntheticContrast.thickSlices(v, axis: axis, thicknessMM: t, threads: threads)
                v = resample(thick, onto: v.grid, threads: threads)
            }
        }
        draw.noiseFraction = rng.uniform(0, s.maxNoiseFraction)
        let rician = rng.next() & 1 == 1
        let peak = Double(v.voxels.max() ?? 0)
        if draw.noiseFraction > 0, peak > 0 {
            SyntheticContrast.addNoise(&v, sigma: peak * draw.noiseFraction, rician: rician, rng: &rng)
        }
        if rng.uniform(0, 1) < s.cropShare {
            let axis = Int(rng.next() % 3), high = rng.next() & 1 == 1
            let fraction = rng.uniform(0, s.maxCropFraction)
            draw.crop = (axis, high, fraction)
            let d = v.dims
            let cut = Int((fraction * Double(d[axis])).rounded())
            if cut > 0 {
                for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
                    let c = SIMD3(i, j, k)[axis]
                    if high ? c >= d[axis] - cut : c < cut { v.voxels[v.grid.index(i, j, k)] = 0 }
                } } }
            }
        }
    }
}
