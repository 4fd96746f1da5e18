import Dispatch

/// Wall-clock time in seconds on the monotonic clock: the one timer of the project (stage
/// timings, benchmarks, progress).
public struct Stopwatch: Sendable {
    private let begin: UInt64
    private var last: UInt64

    public init() {
        begin = DispatchTime.now().uptimeNanoseconds
        last = begin
    }

    /// Seconds since the previous lap (or the start).
    public mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }

    /// Seconds since the start.
    public var total: Double { Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9 }

    /// Runs `body` and adds its seconds to `timings[key]`.
    public static func time<T>(_ key: String, into timings: inout [String: Double], _ body: () throws -> T) rethrows -> T {
        let clock = Stopwatch()
        defer { timings[key, default: 0] += clock.total }
        return try body()
    }
}
