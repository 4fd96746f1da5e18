import Foundation

/// Time stamps written into records: UTC, ISO 8601 (`Z`), in one of two named precisions.
/// Both sort as text in time order.
public enum UTCTime {
    public enum Precision: Sendable {
        /// `2026-11-25T18:24:57Z`: the transform JSON's `created`.
        case seconds
        /// `2026-11-25T18:24:57.123Z`: audit records and heads.
        case milliseconds
    }

    /// `date` (default: now) as UTC ISO 8601 text with `precision`.
    public static func string(_ precision: Precision, at date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = precision == .milliseconds ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
