import Foundation
import NIfTIIO
import Registration
import Sampling
import VolumeCore
import Workflows

/// Issue 6's throughput bar: `stnreg batch` of 8 perturbed copies of Colin27 (2 mm) to the
/// MNI152 (2 mm), default protocol without the network (the search-first path), median wall
/// time of `runs` whole batches per setting:
/// - worker scaling: `--jobs 1 --threads 1` against `--jobs 2 --threads 2` (1 thread per registration each);
/// - defaults on this machine: `--jobs 1` (all cores in one registration) against `--jobs 2`.
/// Each batch writes into a fresh folder (nothing is skipped).
func runBatchBenchmark(runs: Int) throws {
    let volumes = repoFolder() + "/TestVolumes"
    let atlas = volumes + "/mni152_t1_2mm.nii.gz"
    let work = NSTemporaryDirectory() + "/stnbench-batch-\(getpid())"
    try FileManager.default.createDirectory(atPath: work + "/in", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    let colin = try NIfTIReader.readVolume(volumes + "/colin27_t1_2mm.nii.gz")
    var rng = SeededGenerator(seed: 6)
    var scans: [String] = []
    for n in 0..<8 {
        let t = Decomposition(translation: SIMD3(rng.uniform(-8, 8), rng.uniform(-8, 8), rng.uniform(-8, 8)),
                              rotationDegrees: SIMD3(rng.uniform(-10, 10), rng.uniform(-10, 10), rng.uniform(-10, 10))).affine
        let path = work + String(format: "/in/sub-%02d_T1w.nii.gz", n + 1)
        try NIfTIWriter.write(resample(colin, onto: colin.grid, atlasToScan: t, threads: 2), to: path)
        scans.append(path)
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    print("batch: 8 perturbed Colin27 2 mm → MNI152 2 mm, default protocol without network; median of \(runs) batches (\(cores) cores)")
    var counter = 0
    func time(jobs: Int, threads: Int) throws -> Double {
        try medianSeconds(runs: runs) {
            counter += 1
            let out = work + "/out-\(counter)"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let s = try BatchJob(atlasPath: atlas, inputs: scans, outputFolder: out, useNetwork: false,
                                 jobs: jobs, threads: threads, commandLine: ["stnbench"]).run()
            precondition(s.done == 8, "batch failed: \(s.results.compactMap(\.message))")
            try? FileManager.default.removeItem(atPath: out)
        }
    }
    for (label, one, two) in [("1 thread per registration", (1, 1), (2, 2)), ("defaults (--threads = cores)", (1, cores), (2, cores))] {
        let t1 = try time(jobs: one.0, threads: one.1)
        let t2 = try time(jobs: two.0, threads: two.1)
        print(String(format: "  %@: --jobs 1 %.2f s (%.2f scans/min), --jobs 2 %.2f s (%.2f scans/min): throughput ×%.2f",
                     label, t1, 8 * 60 / t1, t2, 8 * 60 / t2, t1 / t2))
    }
}
