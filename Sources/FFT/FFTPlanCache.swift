import Foundation
import VolumeCore

/// Reuses ``RealFFT3D`` plans by shape so that repeated transforms do not re-plan.
///
/// The cache keeps a small pool per shape: ``withPlan(dims:_:)`` lends an idle plan (or
/// makes one) for the duration of `body` and puts it back, so that threads transforming
/// the same shape at once each get their own plan and buffers instead of waiting. Every
/// plan of one shape is the same `FFTW_ESTIMATE` plan, so which one a call gets never
/// changes the result. Plans are freed by ``removeAll()`` (or never, for `shared`);
/// a 128³ plan holds about 16 MB of buffers.
public final class FFTPlanCache: @unchecked Sendable {
    /// The process-wide cache used by this module's functions.
    public static let shared = FFTPlanCache()

    private var idle: [SIMD3<Int>: [RealFFT3D]] = [:]
    private var made = 0
    private let lock = NSLock()

    public init() {}

    /// Runs `body` with a plan for `dims` that no other caller uses meanwhile.
    public func withPlan<R>(dims: SIMD3<Int>, _ body: (RealFFT3D) throws -> R) rethrows -> R {
        let plan = checkOut(dims)
        defer { checkIn(plan) }
        return try body(plan)
    }

    /// Number of plans created by this cache so far (for tests of reuse).
    public var plansCreated: Int {
        lock.lock(); defer { lock.unlock() }
        return made
    }

    /// Drops the idle plans. Plans lent out at the time go back to the pool when their
    /// callers finish.
    public func removeAll() {
        lock.lock(); defer { lock.unlock() }
        idle.removeAll()
    }

    private func checkOut(_ dims: SIMD3<Int>) -> RealFFT3D {
        lock.lock()
        if let plan = idle[dims]?.popLast() {
            lock.unlock()
            return plan
        }
        made += 1
        lock.unlock()
        return RealFFT3D(dims: dims)   // planning takes FFTWPlanner's lock, not ours
    }

    private func checkIn(_ plan: RealFFT3D) {
        lock.lock(); defer { lock.unlock() }
        idle[plan.dims, default: []].append(plan)
    }
}
