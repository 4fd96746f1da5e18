import Dispatch
import Foundation

/// Runs `body` `runs` times after one warm-up and returns the median wall time in seconds.
func medianSeconds(runs: Int = 7, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var t: [Double] = []
    for _ in 0..<runs {
        let s = DispatchTime.now().uptimeNanoseconds
        try body()
        t.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
    }
    t.sort()
    return t[t.count / 2]
}

/// Keeps the optimiser from discarding a computed value.
@inline(never)
func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }

/// The repository's ../shared/data folder (or `STNREG_SHARED_DATA`).
func sharedDataFolder() -> String {
    if let env = ProcessInfo.processInfo.environment["STNREG_SHARED_DATA"] { return env }
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return repo.deletingLastPathComponent().appendingPathComponent("shared/data").path
}

func repoFolder() -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

func ms(_ s: Double) -> String { String(format: "%8.1f ms", s * 1000) }

/// A benchmark cannot run as asked.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Runs every variant once per round (in order, after one warm-up round), `runs` rounds, and
/// returns each variant's median seconds: variants compared on a shared machine see the same load.
func medianSecondsAlternating(runs: Int, _ variants: [() throws -> Void]) throws -> [Double] {
    for v in variants { try v() }
    var t = Array(repeating: [Double](), count: variants.count)
    for _ in 0..<runs {
        for (k, v) in variants.enumerated() {
            let s = DispatchTime.now().uptimeNanoseconds
            try v()
            t[k].append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
        }
    }
    return t.map { $0.sorted()[$0.count / 2] }
}
