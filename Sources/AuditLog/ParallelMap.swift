import Foundation

/// Results written once per chunk under a lock (no shared mutable state outside it).
private final class ChunkResults<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [Int: [T]] = [:]
    func set(_ chunk: Int, _ values: [T]) { lock.lock(); chunks[chunk] = values; lock.unlock() }
    func joined(_ count: Int) -> [T] { (0..<count).flatMap { chunks[$0]! } }
}

extension Array where Element: Sendable {
    /// `map` over contiguous chunks on all cores; the result is in order and identical to `map`.
    func parallelMap<T>(_ transform: @Sendable (Element) -> T) -> [T] {
        let chunkCount = Swift.min(count, Swift.max(1, ProcessInfo.processInfo.activeProcessorCount) * 4)
        guard chunkCount > 1, count >= 64 else { return map(transform) }
        let results = ChunkResults<T>()
        let size = (count + chunkCount - 1) / chunkCount
        DispatchQueue.concurrentPerform(iterations: chunkCount) { c in
            let lo = c * size, hi = Swift.min(count, lo + size)
            results.set(c, lo < hi ? self[lo..<hi].map(transform) : [])
        }
        return results.joined(chunkCount)
    }
}
