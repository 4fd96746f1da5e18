import Foundation
import Training
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
        // stnbench align [runs] [protocol]
        try runAlignBenchmark(runs: runs, protocolName: args.count > 2 ? args[2] : nil)
    case "ablation":
        // stnbench ablation [default|hard|extreme|all] [cases] [seed] [protocol|-] [arm,arm,…] [--contrast t1|t2|pd|flair|all[,…]] [--slices MM]
        let (positional, contrasts, slices) = try contrastOptions(Array(args.dropFirst()))
        let preset = positional.count > 0 ? positional[0] : "all"
        let cases = positional.count > 1 ? Int(positional[1]) ?? 12 : 12
        let seed = positional.count > 2 ? UInt64(positional[2]) ?? 1 : 1
        let proto = positional.count > 3 && positional[3] != "-" ? positional[3] : nil
        var arms = AccuracyArm.ablation
        if positional.count > 4 {
            let keys = positional[4].split(separator: ",").map(String.init)
            arms = try keys.map { k in
                guard let a = AccuracyArm.ablation.first(where: { $0.key == k }) else {
                    throw BenchError("unknown arm '\(k)' (arms: \(AccuracyArm.ablation.map(\.key).joined(separator: ", ")))")
                }
                return a
            }
        }
        let presets = preset == "all" ? ["default", "hard", "extreme"] : [preset]
        if let contrasts {
            try runContrastAccuracyBenchmark(presetNames: presets, casesPerPreset: cases, seed: seed, protocolName: proto,
                                             threads: ThreadPolicy.defaultThreadCount, contrasts: contrasts, sliceThicknessMM: slices,
                                             arms: arms)
        } else {
            try runAccuracyBenchmark(presetNames: presets, casesPerPreset: cases, seed: seed, protocolName: proto,
                                     threads: ThreadPolicy.defaultThreadCount, arms: arms)
        }
    case "audit":
        try runAuditBenchmark(runs: runs)
    case "batch":
        try runBatchBenchmark(runs: runs)
    case "network":
        runNetworkBenchmark(runs: runs)
    case "similarity":
        runSimilarityBenchmark(runs: runs)
    case "accuracy":
        // stnbench accuracy [default|hard|extreme|all] [cases] [seed] [protocol|-] [--contrast t1|t2|pd|flair|all[,…]] [--slices MM]
        let (positional, contrasts, slices) = try contrastOptions(Array(args.dropFirst()))
        let preset = positional.count > 0 ? positional[0] : "all"
        let cases = positional.count > 1 ? Int(positional[1]) ?? 12 : 12
        let seed = positional.count > 2 ? UInt64(positional[2]) ?? 1 : 1
        let proto = positional.count > 3 && positional[3] != "-" ? positional[3] : nil
        let presets = preset == "all" ? ["default", "hard", "extreme"] : [preset]
        if let contrasts {
            try runContrastAccuracyBenchmark(presetNames: presets, casesPerPreset: cases, seed: seed, protocolName: proto,
                                             threads: ThreadPolicy.defaultThreadCount, contrasts: contrasts, sliceThicknessMM: slices)
        } else {
            try runAccuracyBenchmark(presetNames: presets, casesPerPreset: cases, seed: seed, protocolName: proto,
                                     threads: ThreadPolicy.defaultThreadCount)
        }
    case "render-contrasts":
        // stnbench render-contrasts OUTDIR [seed] [slice thickness mm, 0: as scanned]
        guard args.count > 1 else { throw BenchError("render-contrasts needs an output folder") }
        try renderContrasts(to: args[1], seed: args.count > 2 ? UInt64(args[2]) ?? 1 : 1,
                            sliceThicknessMM: args.count > 3 ? Double(args[3]) ?? 5 : 5)
    default:
        print("usage: stnbench io [runs] | similarity [runs] | align [runs] | accuracy [default|hard|extreme|all] [cases] [seed] [protocol|-] [--contrast t1|t2|pd|flair|all[,…]] [--slices MM] | render-contrasts OUTDIR [seed] [slice mm] | ablation [preset|all] [cases] [seed] [protocol|-] [arms: default,network+refine,search+refine,network,search,refine] [--contrast …] [--slices MM] | network [runs] | batch [runs] | audit [runs]")
        exit(which == "help" ? 0 : 2)
    }
} catch {
    FileHandle.standardError.write(Data("stnbench: \(error)\n".utf8))
    exit(1)
}

/// The positional arguments and the `--contrast LIST` / `--slices MM` options of accuracy and ablation.
func contrastOptions(_ args: [String]) throws -> ([String], [Contrast]?, Double) {
    var positional: [String] = []
    var contrasts: [Contrast]?
    var slices = 5.0
    var rest = args[...]
    while let a = rest.popFirst() {
        switch a {
        case "--contrast":
            guard let v = rest.popFirst() else { throw BenchError("--contrast needs t1, t2, pd, flair or all") }
            contrasts = try v.split(separator: ",").flatMap { k -> [Contrast] in
                if k == "all" { return Contrast.allCases }
                guard let c = Contrast(rawValue: String(k)) else { throw BenchError("unknown contrast '\(k)' (t1, t2, pd, flair, all)") }
                return [c]
            }
        case "--slices":
            guard let v = rest.popFirst().flatMap(Double.init), v >= 0 else { throw BenchError("--slices needs a thickness in mm (0: as scanned)") }
            slices = v
        default:
            positional.append(a)
        }
    }
    return (positional, contrasts, slices)
}
