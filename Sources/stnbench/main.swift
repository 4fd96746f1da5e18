import Foundation
import VolumeCore

// stnbench: release-mode benchmarks, apart from `swift test`.
//   swift run -c release stnbench io [runs]
MemoryPolicy.keepFreedMemory()   // as stnreg does
let args = Array(CommandLine.arguments.dropFirst())
let which = args.first ?? "help"
let runs = args.count > 1 ? Int(args[1]) ?? 7 : 7
do {
    switch which {
    case "io":
        try runIOBenchmark(runs: runs)
    case "align":
        try runAlignBenchmark(runs: runs)
    case "ablation":
        // stnbench ablation [default|hard|extreme|all] [cases] [seed] [protocol|-] [arm,arm,…]
        let preset = args.count > 1 ? args[1] : "all"
        let cases = args.count > 2 ? Int(args[2]) ?? 12 : 12
        let seed = args.count > 3 ? UInt64(args[3]) ?? 1 : 1
        let proto = args.count > 4 && args[4] != "-" ? args[4] : nil
        var arms = AccuracyArm.ablation
        if args.count > 5 {
            let keys = args[5].split(separator: ",").map(String.init)
            arms = try keys.map { k in
                guard let a = AccuracyArm.ablation.first(where: { $0.key == k }) else {
                    throw BenchError("unknown arm '\(k)' (arms: \(AccuracyArm.ablation.map(\.key).joined(separator: ", ")))")
                }
                return a
            }
        }
        try runAccuracyBenchmark(presetNames: preset == "all" ? ["default", "hard", "extreme"] : [preset],
                                 casesPerPreset: cases, seed: seed, protocolName: proto, threads: ThreadPolicy.defaultThreadCount,
                                 arms: arms)
    case "audit":
        try runAuditBenchmark(runs: runs)
    case "batch":
        try runBatchBenchmark(runs: runs)
    case "network":
        runNetworkBenchmark(runs: runs)
    case "similarity":
        runSimilarityBenchmark(runs: runs)
    case "accuracy":
        // stnbench accuracy [default|hard|extreme|all] [cases] [seed] [protocol]
        let preset = args.count > 1 ? args[1] : "all"
        let cases = args.count > 2 ? Int(args[2]) ?? 12 : 12
        let seed = args.count > 3 ? UInt64(args[3]) ?? 1 : 1
        let proto = args.count > 4 ? args[4] : nil
        try runAccuracyBenchmark(presetNames: preset == "all" ? ["default", "hard", "extreme"] : [preset],
                                 casesPerPreset: cases, seed: seed, protocolName: proto, threads: ThreadPolicy.defaultThreadCount)
    default:
        print("usage: stnbench io [runs] | similarity [runs] | align [runs] | accuracy [default|hard|extreme|all] [cases] [seed] [protocol] | ablation [preset|all] [cases] [seed] [protocol|-] [arms: default,network+refine,search+refine,network,search,refine] | network [runs] | batch [runs] | audit [runs]")
        exit(which == "help" ? 0 : 2)
    }
} catch {
    FileHandle.standardError.write(Data("stnbench: \(error)\n".utf8))
    exit(1)
}
