import Foundation

/// A minimal line plot as an RGB image: white background, light grid (10 divisions), one
/// coloured polyline per series, y range from the data (or given). No text: the caller names
/// the file and writes the numbers beside it (CSV).
public enum LinePlot {
    /// Distinct series colours.
    public static let palette: [(UInt8, UInt8, UInt8)] = [
        (31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75),
        (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (0, 0, 0), (255, 187, 120),
    ]

    /// Renders `series` (each a list of (x, y); NaN/∞ points are skipped) in `width × height` pixels.
    public static func render(_ series: [[(x: Double, y: Double)]], width: Int = 640, height: Int = 360,
                              yRange: ClosedRange<Double>? = nil) -> RGBImage {
        var img = RGBImage(width: width, height: height, fill: (255, 255, 255))
        let pts = series.flatMap { $0 }.filter { $0.x.isFinite && $0.y.isFinite }
        let margin = 12
        let pw = width - 2 * margin, ph = height - 2 * margin
        // Grid and frame.
        for d in 0...10 {
            let x = margin + d * pw / 10, y = margin + d * ph / 10
            let shade: UInt8 = (d == 0 || d == 10) ? 90 : 225
            for yy in margin...(margin + ph) { img[x, yy] = (shade, shade, shade) }
            for xx in margin...(margin + pw) { img[xx, y] = (shade, shade, shade) }
        }
        guard let x0 = pts.map(\.x).min(), let x1 = pts.map(\.x).max() else { return img }
        var y0 = yRange?.lowerBound ?? pts.map(\.y).min()!, y1 = yRange?.upperBound ?? pts.map(\.y).max()!
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        let xs = x1 > x0 ? x1 - x0 : 1
        func px(_ p: (x: Double, y: Double)) -> (Int, Int) {
            (margin + Int(((p.x - x0) / xs * Double(pw)).rounded()),
             margin + ph - Int(((min(y1, max(y0, p.y)) - y0) / (y1 - y0) * Double(ph)).rounded()))
        }
        for (n, s) in series.enumerated() {
            let colour = palette[n % palette.count]
            let valid = s.filter { $0.x.isFinite && $0.y.isFinite }
            guard var last = valid.first.map(px) else { continue }
            for p in valid.dropFirst() {
                let q = px(p)
                drawLine(&img, from: last, to: q, colour: colour)
                last = q
            }
            if valid.count == 1 { img[last.0, last.1] = colour }
        }
        return img
    }

    static func drawLine(_ img: inout RGBImage, from a: (Int, Int), to b: (Int, Int), colour: (UInt8, UInt8, UInt8)) {
        let steps = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
        for t in 0...steps {
            let x = a.0 + (b.0 - a.0) * t / steps, y = a.1 + (b.1 - a.1) * t / steps
            for (dx, dy) in [(0, 0), (1, 0), (0, 1)] {
                let xx = x + dx, yy = y + dy
                if xx >= 0, yy >= 0, xx < img.width, yy < img.height { img[xx, yy] = colour }
            }
        }
    }
}
