import Network
import Sampling
import VolumeCore

/// One training item as the step draws it: a real scan (index) or a synthetic subject (−1),
/// the perturbation, and the seed of the item's own generator.
struct ItemPlan: Sendable {
    var scan: Int
    var perturbation: Affine
    var seed: UInt64
}

extension Trainer {
    /// The network inputs and the images the loss warps, one pair per plan, made in parallel
    /// (each from its own generator, so the same for any thread count). A real scan is its own
    /// loss image (augmented as before); a synthetic subject shows its random contrast to the
    /// network and its T1 rendering to the loss.
    func makeItems(_ plans: [ItemPlan]) -> (inputs: [Volume], lossImages: [Volume]) {
        var made = [(Volume, Volume)?](repeating: nil, count: plans.count)
        let inner = threads >= plans.count * 2 ? threads / plans.count : 1
        made.withUnsafeMutableBufferPointer { buffer in
            let out = UncheckedSendable(buffer.baseAddress!)
            let scans = self.scans, recipe = self.recipe, frame = self.frame, synthetic = self.synthetic
            parallelChunks(plans.count, threads: min(threads, plans.count)) { b in
                let plan = plans[b]
                var itemRNG = SeededGenerator(seed: plan.seed)
                if plan.scan < 0, let synthetic {
                    let sample = synthetic.sample(perturbation: plan.perturbation, rng: &itemRNG, threads: inner)
                    out.value[b] = (sample.input, sample.t1)
                    return
                }
                let s = scans[plan.scan]
                var image = recipe.scanChannel(s.volume, start: s.start, normalised: plan.perturbation, frame: frame,
                                               resample: { v, g, t in resample(v, onto: g, atlasToScan: t, threads: inner) })
                IntensityAugmentation.apply(&image, &itemRNG)
                out.value[b] = (image, image)
            }
        }
        return (made.map { $0!.0 }, made.map { $0!.1 })
    }
}
