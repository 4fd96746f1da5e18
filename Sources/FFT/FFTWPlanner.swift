import CFFTW
import Foundation

/// The one place that calls FFTW's planner (and plan destruction).
///
/// FFTW's planner keeps global state (wisdom, a plan hash table) and is **not thread-safe**;
/// only `fftwf_execute*` may run concurrently (on distinct plans, or on one plan with
/// distinct arrays). Every planner call in the process therefore goes through `lock`.
///
/// **Determinism.** Plans are made with `FFTW_ESTIMATE`: the planner picks an algorithm from
/// operation-count heuristics, never from timings, so the same shape always gives the same
/// plan and the same output bits on a given machine and FFTW build. `FFTW_MEASURE`/`PATIENT`
/// time candidate algorithms, so their choice (and rounding) can differ from run to run;
/// they also take 1–6 s at 256³ and overwrite the arrays while planning. FFTW reuses
/// *wisdom* from earlier, more rigorous planning even for `FFTW_ESTIMATE`, so wisdom is
/// forgotten before every plan: the plan depends on the shape alone, not on history.
/// What does not hold: identical bits across CPUs with different SIMD (AVX2 vs SSE2
/// codelets round differently) or across FFTW versions.
///
/// **Threads.** Every plan uses one FFTW thread (`fftw3f_threads` is linked but not used).
/// Measured with FFTW 3.3.10 on this platform, 2-thread ESTIMATE plans gave the same bits
/// as 1-thread plans for the shapes tried, but FFTW does not promise it, and the plan would
/// then depend on a process-wide setting. Parallelism comes instead from running
/// independent transforms on separate plans (see ``FFTPlanCache``), which is bit-identical
/// for any thread count by construction.
enum FFTWPlanner {
    static let lock = NSLock()

    static func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }
}
