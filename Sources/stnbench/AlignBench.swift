import Foundation
import Workflows

/// Issue 3's speed bar: `stnreg align` of a 1 mm brain to the 1 mm MNI152, end to end
/// (read, register, write every output), median wall time of several runs, 1 and 2 threads.
func runAlignBenchmark(runs: Int) throws {
    let data = sharedDataFolder()
    let scan = data + "/ch2.nii.gz", atlas = data + "/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    let work = NSTemporaryDirectory() + "/stnbench-align-\(getpid())"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: work) }
    print("align ch2 (Colin27, 181×217×181, 1 mm) → MNI152 2009a (197×233×189, 1 mm), default protocol; median of \(runs) runs")
    for threads in [1, 2] {
        var last: AlignJob.Outcome?
        let t = try medianSeconds(runs: runs) {
            last = try AlignJob(scanPath: scan, atlasPath: atlas, prefix: work + "/t\(threads)", threads: threads,
                                commandLine: ["stnbench"]).run()
        }
        let stages = (last?.record.timingsSeconds ?? [:]).filter { $0.key != "total" && $0.key != "wall" }
            .sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2f", $0.value))" }.joined(separator: ", ")
        print(String(format: "  %d thread%@: %.2f s   (last run: %@)", threads, threads == 1 ? " " : "s", t, stages))
    }
}
