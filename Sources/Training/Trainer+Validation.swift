import Dispatch
import Foundation
import Network
import Optimization
import Sampling
import Similarity
import VolumeCore

/// The validation measures of a training run (fixed cases, so runs compare).
extension Trainer {
    /// Mean −NCC over the fixed validation cases (0 when there are none).
    public func validationLoss() -> Double {
        guard !validationInputs.isEmpty else { return 0 }
        var total = 0.0
        let chunk = max(1, configuration.batchSize)
        var start = 0
        while start < validationInputs.count {
            let items = Array(validationInputs[start..<min(validationInputs.count, start + chunk)])
            total += lossAndOutputGradient(items, recording: false).0 * Double(items.count)
            start += chunk
        }
        return total / Double(validationInputs.count)
    }

    /// Mean TRE (mm) over the validation cases after 1, 2, … `applications` applications of the
    /// network (recurrent: each shows the scan again through the prediction so far): the
    /// prediction `A₁·A₂·…` against the exact answer `P⁻¹` at the atlas foreground points,
    /// `h·|A·u − P⁻¹·u|`. Evaluation only; empty without validation cases.
    public func validationTRE(applications: Int) -> [Double] {
        guard !validationCases.isEmpty, !validationPoints.isEmpty, applications >= 1 else { return [] }
        let resampler: NetworkInputRecipe.Resampler = { v, g, t in resample(v, onto: g, atlasToScan: t, threads: self.threads) }
        let map = configuration.parameterMap
        func predict(_ images: [Volume]) -> [Affine] {
            let batch = NetworkInputRecipe.batch(images.map { NetworkInputRecipe.tensor(scan: $0, atlas: atlasChannel) })
            let out = network.forward(batch, threads: threads)
            let k = configuration.architecture.outputs
            return (0..<images.count).map { b in network.affine(outputs: (0..<k).map { Double(out.values[b * k + $0]) }, map: map) }
        }
        func tre(_ a: Affine, _ truth: Affine) -> Double {
            var sum = 0.0
            for u in validationPoints { sum += length(a.apply(u) - truth.apply(u)) }
            return frame.halfExtentMM * sum / Double(validationPoints.count)
        }
        var totals = [Double](repeating: 0, count: applications)
        let chunk = max(1, configuration.batchSize)
        var start = 0
        while start < validationCases.count {
            let range = start..<min(validationCases.count, start + chunk)
            var composite = [Affine](repeating: .identity, count: range.count)
            for application in 0..<applications {
                let inputs = application == 0 ? Array(validationInputs[range]) : zip(range, composite).map { n, a in
                    recipe.scanChannel(validationCases[n].volume, start: validationCases[n].start,
                                       normalised: validationCases[n].perturbation * a, frame: frame, resample: resampler)
                }
                let step = predict(inputs)
                for (q, n) in range.enumerated() {
                    composite[q] = composite[q] * step[q]
                    totals[application] += tre(composite[q], validationCases[n].perturbation.inverse!)
                }
            }
            start = range.upperBound
        }
        return totals.map { $0 / Double(validationCases.count) }
    }
}
