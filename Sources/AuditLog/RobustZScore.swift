/// Robust z-scores for spotting outliers in a batch: `z = (x − median) / (1.4826 · MAD)`.
///
/// MAD is the median absolute deviation from the median; 1.4826·MAD estimates the standard
/// deviation of normal data, and, unlike it, is not inflated by the outliers themselves.
/// |z| > ``outlierThreshold`` (3.5, Iglewicz and Hoaglin) marks an outlier.
public enum RobustZScore {
    public static let outlierThreshold = 3.5

    /// Median of `xs` (mean of the middle two for an even count); nil when empty.
    public static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// z-scores of `xs`. The spread `1.4826·MAD` is raised to at least `minSpread` (> 0) so that a
    /// batch with (nearly) identical values does not turn rounding differences into outliers;
    /// the spread floor is in the units of `xs`. Fewer than 3 values give all zeros.
    public static func scores(_ xs: [Double], minSpread: Double) -> [Double] {
        precondition(minSpread > 0, "minSpread must be positive")
        guard xs.count >= 3, let med = median(xs), let mad = median(xs.map { abs($0 - med) }) else {
            return xs.map { _ in 0 }
        }
        let spread = max(1.4826 * mad, minSpread)
        return xs.map { ($0 - med) / spread }
    }
}
