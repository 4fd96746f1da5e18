/// Intensity windowing, edges, overlays and checkerboards on 2D slices.
public enum ImageOps {
    /// Maps values linearly so that the `low` and `high` percentiles (0…100) of the finite values
    /// go to 0 and 255, clamping outside; a flat image maps to 0. Non-finite values map to 0.
    public static func window(_ image: GrayImage, low: Double = 1, high: Double = 99) -> [UInt8] {
        let (lo, hi) = percentiles(image.values, low, high)
        let span = hi - lo
        return image.values.map { v in
            guard v.isFinite, span > 0 else { return 0 }
            return UInt8(max(0, min(255, ((v - lo) / span * 255).rounded())))
        }
    }

    /// The `low` and `high` percentiles (nearest rank) of the finite values; (0, 0) when there are none.
    public static func percentiles(_ values: [Float], _ low: Double, _ high: Double) -> (Float, Float) {
        let s = values.filter { $0.isFinite }.sorted()
        guard !s.isEmpty else { return (0, 0) }
        func at(_ p: Double) -> Float { s[min(s.count - 1, max(0, Int((p / 100 * Double(s.count - 1)).rounded())))] }
        return (at(low), at(high))
    }

    /// Edge pixels: gradient magnitude (central differences, one-sided at the border) of the
    /// image windowed to 0…1 by its `low`/`high` percentiles, above `threshold` (per pixel).
    /// A flat image has no edges.
    public static func edges(_ image: GrayImage, threshold: Float = 0.12, low: Double = 1, high: Double = 99) -> [Bool] {
        let w = image.width, h = image.height
        let g = window(image, low: low, high: high).map { Float($0) / 255 }
        var out = [Bool](repeating: false, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let x0 = max(0, x - 1), x1 = min(w - 1, x + 1), y0 = max(0, y - 1), y1 = min(h - 1, y + 1)
                let gx = x1 > x0 ? (g[x1 + w * y] - g[x0 + w * y]) / Float(x1 - x0) : 0
                let gy = y1 > y0 ? (g[x + w * y1] - g[x + w * y0]) / Float(y1 - y0) : 0
                out[x + w * y] = (gx * gx + gy * gy).squareRoot() > threshold
            }
        }
        return out
    }

    /// The base image in grey with the `edges` pixels painted in `colour`.
    public static func overlay(base: GrayImage, edges: [Bool], colour: (UInt8, UInt8, UInt8) = (255, 64, 32)) -> RGBImage {
        precondition(edges.count == base.values.count, "edge map size does not match the image")
        var out = RGBImage(gray: window(base), width: base.width, height: base.height)
        for p in edges.indices where edges[p] { out.pixels[3 * p] = colour.0; out.pixels[3 * p + 1] = colour.1; out.pixels[3 * p + 2] = colour.2 }
        return out
    }

    /// Alternating square tiles of `tile` pixels: `a` where `(x/tile + y/tile)` is even, `b`
    /// elsewhere, each windowed on its own (so different contrasts still compare).
    public static func checkerboard(_ a: GrayImage, _ b: GrayImage, tile: Int = 8) -> RGBImage {
        precondition(a.width == b.width && a.height == b.height, "checkerboard images differ in size")
        precondition(tile >= 1, "tile must be ≥ 1")
        let wa = window(a), wb = window(b)
        var gray = [UInt8](repeating: 0, count: wa.count)
        for y in 0..<a.height {
            for x in 0..<a.width {
                let n = x + a.width * y
                gray[n] = (x / tile + y / tile) % 2 == 0 ? wa[n] : wb[n]
            }
        }
        return RGBImage(gray: gray, width: a.width, height: a.height)
    }
}
