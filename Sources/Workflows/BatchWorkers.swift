import Foundation

/// The batch's worker threads: `workers` threads pull item indices in order (0, 1, 2, …) until
/// none is left; each result is stored at its index and reported under one lock, so reports
/// never overlap.
enum BatchWorkers {
    /// Counts after an item finished.
    struct Counts: Sendable {
        /// Items finished (done, skipped or failed).
        var finished = 0
        var failed = 0
        var skipped = 0
        /// Items run (done or failed, not skipped).
        var run = 0
    }

    /// Registration stacks are deep (pyramids, FFT plans): 16 MiB per worker thread.
    static let stackSize = 16 << 20

    /// Runs `work(i)` for every `i` in `0..<count` on `workers` threads and returns the results
    /// in index order. `report` is called after each item, one call at a time.
    static func run(count: Int, workers: Int, work: @escaping @Sendable (Int) -> BatchJob.ItemResult,
                    report: @escaping @Sendable (Counts, BatchJob.ItemResult) -> Void) -> [BatchJob.ItemResult] {
        let state = State(count: count)
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let thread = Thread {
                while let i = state.next() {
                    state.finish(i, work(i), report: report)
                }
                group.leave()
            }
            thread.stackSize = stackSize
            thread.start()
        }
        group.wait()
        return state.allResults()
    }

    /// Hands out item indices and collects results; `finish` reports under the lock.
    private final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var nextIndex = 0
        private let count: Int
        private var results: [BatchJob.ItemResult?]
        private var counts = Counts()

        init(count: Int) {
            self.count = count
            results = Array(repeating: nil, count: count)
        }

        /// Every result, in item order (call after the workers are done).
        func allResults() -> [BatchJob.ItemResult] {
            lock.lock(); defer { lock.unlock() }
            return results.map { $0! }
        }

        func next() -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard nextIndex < count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }

        func finish(_ i: Int, _ r: BatchJob.ItemResult, report: (Counts, BatchJob.ItemResult) -> Void) {
            lock.lock(); defer { lock.unlock() }
            results[i] = r
            counts.finished += 1
            switch r.status {
            case .failed: counts.failed += 1; counts.run += 1
            case .skipped: counts.skipped += 1
            case .done: counts.run += 1
            }
            report(counts, r)
        }
    }
}
