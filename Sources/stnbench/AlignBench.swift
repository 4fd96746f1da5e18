import Foundation
import NIfTIIO
import Registration
import Sampling
import VolumeCore
import Workflows

/// Issue 3's speed bar and issue 14's accounting: `stnreg align` of a 1 mm brain to the 1 mm
/// MNI152, end to end (read, register, write every output, hash them, append the audit record:
/// ``AlignJob/runAndAudit(log:signer:progress:)`` as the command runs it), on 1 and 2 threads.
///
/// Per thread count: the median wall time; each stage's median (``AlignJob/stageKeys``); the
/// median over runs of the stages' sum against that run's wall (the share no timer covers);
/// and the wall as a multiple of two references measured in the same rounds, so that figures
/// from machines of different speed compare: one trilinear resampling pass of the scan onto the
/// atlas grid (general affine, same thread count) and one copy of the atlas's Float32 bytes.
/// Each round runs references and jobs for both thread counts in turn, after one warm-up round.
func runAlignBenchmark(runs: Int, protocolName: String? = nil) throws {
    let data = sharedDataFolder()
    let scan = data + "/ch2.nii.gz", atlas = data + "/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    let work = NSTemporaryDirectory() + "/stnbench-align-\(getpid())"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    print("align ch2 (Colin27, 181×217×181, 1 mm) → MNI152 2009a (197×233×189, 1 mm), protocol \(protocolName ?? RegistrationProtocol.defaultName); median of \(runs) runs")

    let scanVolume = try NIfTIReader.readVolume(scan), atlasVolume = try NIfTIReader.readVolume(atlas)
    let t = Decomposition(translation: SIMD3(3.3, -2.1, 4.7), rotationDegrees: SIMD3(7, -5, 11),
                          scale: SIMD3(1.05, 0.97, 1.02), shear: SIMD3(0.02, -0.01, 0.03)).affine
    let centre = atlasVolume.grid.centreWorld
    let atlasToScan = Affine.translation(centre) * t * Affine.translation(-centre)
    var copyTarget = [Float](repeating: 0, count: atlasVolume.voxels.count)

    struct Samples { var wall: [Double] = []; var stages: [[String: Double]] = []; var trilinear: [Double] = []; var copy: [Double] = [] }
    let threadCounts = [1, 2]
    var samples = Dictionary(uniqueKeysWithValues: threadCounts.map { ($0, Samples()) })
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = Stopwatch()
        try body()
        return clock.total
    }
    for round in 0...runs {
        for threads in threadCounts {
            let tri = seconds { blackHole(resample(scanVolume, onto: atlasVolume.grid, atlasToScan: atlasToScan, threads: threads)) }
            let copy = seconds {
                copyTarget.withUnsafeMutableBufferPointer { dst in
                    atlasVolume.voxels.withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
                }
                blackHole(copyTarget)
            }
            let job = AlignJob(scanPath: scan, atlasPath: atlas, prefix: work + "/t\(threads)", protocolName: protocolName, threads: threads, commandLine: ["stnbench"])
            var outcome: AlignJob.Outcome?
            let wall = try seconds { outcome = try job.runAndAudit(log: work + "/audit-t\(threads).jsonl") }
            guard round > 0 else { continue }   // warm-up
            samples[threads]!.wall.append(wall)
            samples[threads]!.stages.append(outcome!.record.timingsSeconds)
            samples[threads]!.trilinear.append(tri)
            samples[threads]!.copy.append(copy)
        }
    }

    func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
    func f2(_ x: Double) -> String { String(format: "%.2f", x) }
    for threads in threadCounts {
        let s = samples[threads]!
        let wall = median(s.wall)
        let keys = AlignJob.stageKeys.filter { k in s.stages.contains { $0[k] != nil } }
        let medians = keys.map { k in (k, median(s.stages.map { $0[k] ?? 0 })) }
        let last = (s.stages.last ?? [:]).filter { $0.key != "total" && $0.key != "wall" }
            .sorted { $0.key < $1.key }.map { "\($0.key) \(f2($0.value))" }.joined(separator: ", ")
        print(String(format: "  %d thread%@: %.2f s   (last run: %@)", threads, threads == 1 ? " " : "s", wall, last))
        print("    stage medians (s): " + medians.filter { $0.1 >= 0.005 }.map { "\($0.0) \(f2($0.1))" }.joined(separator: ", ")
              + "; under 5 ms: " + medians.filter { $0.1 < 0.005 }.map(\.0).joined(separator: ", "))
        let unaccounted = zip(s.stages, s.wall).map { st, w in (w - keys.reduce(0.0) { $0 + (st[$1] ?? 0) }) / w }
        let sum = medians.reduce(0.0) { $0 + $1.1 }
        print(String(format: "    stages: sum of medians %.3f s against a median wall of %.3f s; per run %.2f %% of the wall unaccounted (median; from %.2f to %.2f %%)",
                     sum, wall, 100 * median(unaccounted), 100 * (unaccounted.min() ?? 0), 100 * (unaccounted.max() ?? 0)))
        let tri = median(s.trilinear), copy = median(s.copy)
        print(String(format: "    wall = %.1f trilinear passes of the scan onto the atlas grid (%.1f ms, %d thread%@) = %.0f copies of the atlas's Float32 bytes (%.2f ms)",
                     wall / tri, tri * 1000, threads, threads == 1 ? "" : "s", wall / copy, copy * 1000))
    }
}
