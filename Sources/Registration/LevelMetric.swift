import VolumeCore

/// The similarity used by refinement on a working level (TEMPORARY inline global NCC; to be
/// replaced by the Similarity module).
enum LevelMetric {
    static func value(warped: [Float], level: WorkingLevel, threads: Int) -> Double {
        valueAndGradient(warped: warped, level: level, threads: threads).0
    }

    static func valueAndGradient(warped: [Float], level: WorkingLevel, threads: Int) -> (Double, [Float]) {
        let a = level.atlas.voxels, m = level.mask
        var sw = 0.0, sa = 0.0, swa = 0.0, sww = 0.0, saa = 0.0, n = 0.0
        for i in 0..<a.count where m[i] > 0 {
            let x = Double(warped[i]), y = Double(a[i])
            sw += x; sa += y; swa += x * y; sww += x * x; saa += y * y; n += 1
        }
        guard n > 1 else { return (0, [Float](repeating: 0, count: a.count)) }
        let mw = sw / n, ma = sa / n
        let cov = swa / n - mw * ma, vw = sww / n - mw * mw, va = saa / n - ma * ma
        guard vw > 1e-12, va > 1e-12 else { return (0, [Float](repeating: 0, count: a.count)) }
        let r = cov / (vw * va).squareRoot()
        var g = [Float](repeating: 0, count: a.count)
        let k1 = 1 / (n * (vw * va).squareRoot()), k2 = r / (n * vw)
        for i in 0..<a.count where m[i] > 0 {
            g[i] = Float(k1 * (Double(a[i]) - ma) - k2 * (Double(warped[i]) - mw))
        }
        return (r, g)
    }
}
