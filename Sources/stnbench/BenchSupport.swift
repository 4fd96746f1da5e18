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

/// Runs every variant once per round (in order, after one warm-up round), `runs` rounds, and
/// returns each variant's median seconds: variants compared on a shared machine see the same load.
func medianSecondsAlternating(runs: Int, _ variants: [() throws -> Void]) throws -> [Double] {
    try medianSecondsAndCPUAlternating(runs: runs, variants).map(\.wall)
}

/// As ``medianSecondsAlternating(runs:_:)``, with the median CPU seconds (user + system, all
/// threads of the process) of each variant beside its wall time.
func medianSecondsAndCPUAlternating(runs: Int, _ variants: [() throws -> Void]) throws -> [(wall: Double, cpu: Double)] {
    func cpu() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }
    for v in variants { try v() }
    var wall = Array(repeating: [Double](), count: variants.count), busy = wall
    for _ in 0..<runs {
        for (k, v) in variants.enumerated() {
            let s = DispatchTime.now().uptimeNanoseconds, c = cpu()
            try v()
            busy[k].append(cpu() - c)
            wall[k].append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
        }
    }
    func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
    return zip(wall, busy).map { (median($0), median($1)) }
}
