import Dispatch
import Foundation

/// How many threads kernels may use. Results never depend on it (see ``parallelChunks``).
///
/// (Module `Parallelism`: no dependencies, so that AuditLog, which knows nothing of imaging,
/// shares the helpers with the kernels; VolumeCore re-exports it.)
public enum ThreadPolicy {
    /// Threads used when a caller does not say: `STNREG_THREADS` if set, else the number of cores.
    public static var defaultThreadCount: Int {
        if let s = ProcessInfo.processInfo.environment["STNREG_THREADS"], let n = Int(s), n >= 1 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// Runs `body(chunk)` for every chunk index in `0..<chunks`, on up to `threads` threads.
///
/// Determinism: the split into chunks is fixed by the caller, independent of `threads`;
/// a reduction must store one partial result per chunk and combine them in chunk order.
public func parallelChunks(_ chunks: Int, threads: Int, _ body: (Int) -> Void) {
    guard chunks > 0 else { return }
    if threads <= 1 || chunks == 1 {
        for c in 0..<chunks { body(c) }
        return
    }
    let workers = min(threads, chunks)
    let next = ChunkCounter()
    withoutActuallyEscaping(body) { body in
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let c = next.take(limit: chunks) { box.value(c) }
        }
    }
}

/// Splits `0..<count` into `chunks` contiguous ranges of nearly equal size.
public func chunkRange(_ c: Int, of chunks: Int, count: Int) -> Range<Int> {
    let lo = count * c / chunks
    let hi = count * (c + 1) / chunks
    return lo..<hi
}

/// A value that the caller promises is safe to share across threads
/// (e.g. a pointer to disjoint output slices written by separate chunks).
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}

private final class ChunkCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func take(limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard value < limit else { return nil }
        defer { value += 1 }
        return value
    }
}

/// Runs `f(n)` for `n` in `0..<count` on up to `threads` threads and returns the results in
/// order of `n`: the one parallel map of the project. Each result depends only on `n`, so the
/// output equals `(0..<count).map(f)` for any thread count. Work is dealt in up to
/// `4 × threads` contiguous chunks (few lock round trips for many cheap items).
public func parallelMap<T>(_ count: Int, threads: Int, _ f: (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    guard threads > 1, count > 1 else { return (0..<count).map(f) }
    let chunks = min(count, threads * 4)
    var slots = [T?](repeating: nil, count: count)
    slots.withUnsafeMutableBufferPointer { buf in
        let out = UncheckedSendable(buf.baseAddress!)
        parallelChunks(chunks, threads: threads) { c in
            for n in chunkRange(c, of: chunks, count: count) { out.value[n] = f(n) }
        }
    }
    return slots.map { $0! }
}
