import Foundation

// stnbench: release-mode benchmarks, apart from `swift test`.
//   swift run -c release stnbench io [runs]
let args = Array(CommandLine.arguments.dropFirst())
let which = args.first ?? "help"
let runs = args.count > 1 ? Int(args[1]) ?? 7 : 7
do {
    switch which {
    case "io":
        try runIOBenchmark(runs: runs)
    default:
        print("usage: stnbench io [runs]")
        exit(which == "help" ? 0 : 2)
    }
} catch {
    FileHandle.standardError.write(Data("stnbench: \(error)\n".utf8))
    exit(1)
}
