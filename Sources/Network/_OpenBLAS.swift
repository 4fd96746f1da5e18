import CBLAS
import Dispatch
import VolumeCore

/// The one place that calls OpenBLAS.
///
/// **Threading and determinism.** OpenBLAS 0.3.21 (Debian, pthreads) does *not* give the same
/// bits for every thread count: a row-major SGEMM of 2000×3000×1500 differed in 64 % of its
/// entries between 1 and 2 OpenBLAS threads (the conv-sized products we use happened to agree).
/// So the library pins OpenBLAS to one thread the first time it multiplies, and the kernels
/// parallelise themselves over fixed chunks (batch items × output slabs), each chunk calling a
/// single-threaded SGEMM on its own block. Results then depend only on the shapes, never on
/// the thread count. They may differ between CPUs: OpenBLAS picks its kernels at run time
/// (`DYNAMIC_ARCH`).
enum _OpenBLAS {
    /// Pins OpenBLAS to one thread (once per process; `static let` runs its initialiser once).
    static let pinnedToOneThread: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Row-major `C = alpha · op(A) · op(B) + beta · C` with `op(A)` m×k, `op(B)` k×n, `C` m×n.
    @inline(__always)
    static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                      alpha: Float, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(pinnedToOneThread)
        precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max)
                     && lda <= Int(Int32.max) && ldb <= Int(Int32.max) && ldc <= Int(Int32.max),
                     "SGEMM dimensions exceed Int32")
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Direct access to OpenBLAS SGEMM for benchmarks and for the determinism check.
///
/// Not for production paths: ``sgemm(m:n:k:a:b:openBLASThreads:)`` sets OpenBLAS's
/// process-wide thread count for the duration of the call and puts it back to 1 afterwards;
/// a network running concurrently with other thread counts would still be correct only if
/// OpenBLAS gave the same bits (it does for the network's shapes, not in general).
public enum BLASProbe {
    /// Row-major `C = A · B`, `A` m×k, `B` k×n, computed by OpenBLAS on `openBLASThreads` threads.
    public static func sgemm(m: Int, n: Int, k: Int, a: [Float], b: [Float], openBLASThreads: Int) -> [Float] {
        precondition(a.count == m * k && b.count == k * n, "BLASProbe.sgemm: operand sizes do not match m, n, k")
        _ = _OpenBLAS.pinnedToOneThread
        openblas_set_num_threads(Int32(max(1, openBLASThreads)))
        defer { openblas_set_num_threads(1) }
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                                1, pa.baseAddress!, Int32(k), pb.baseAddress!, Int32(n), 0, pc.baseAddress!, Int32(n))
                }
            }
        }
        return c
    }

    /// Median wall time in seconds of `runs` row-major SGEMMs `C (m×n) = A (m×k) · B (k×n)` on
    /// `openBLASThreads` threads, after one warm-up (operands filled with a fixed pattern).
    public static func sgemmSeconds(m: Int, n: Int, k: Int, openBLASThreads: Int, runs: Int) -> Double {
        _ = _OpenBLAS.pinnedToOneThread
        let a = (0..<(m * k)).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 }
        let b = (0..<(k * n)).map { Float(($0 * 104_729) % 1000) / 1000 - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        openblas_set_num_threads(Int32(max(1, openBLASThreads)))
        defer { openblas_set_num_threads(1) }
        var times: [Double] = []
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    for r in 0...max(1, runs) {
                        let clock = Stopwatch()
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                                    1, pa.baseAddress!, Int32(k), pb.baseAddress!, Int32(n), 0, pc.baseAddress!, Int32(n))
                        if r > 0 { times.append(clock.total) }
                    }
                }
            }
        }
        times.sort()
        return times[times.count / 2]
    }
}
