import Dispatch
import Foundation
import VolumeCore

/// Runs `body` `runs` times after one warm-up and returns the median wall time in seconds.
func medianSeconds(runs: Int = 7, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var t: [Double] = []
    for _ in 0..<runs {
        let clock = Stopwatch()
        try body()
        t.append(clock.total)
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
