/// A 2D single-channel image of Float values, row by row from the top-left pixel.
public struct GrayImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `values[x + width·y]`, `y = 0` at the top.
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) {
        precondition(width >= 1 && height >= 1 && values.count == width * height, "image size does not match its values")
        self.width = width
        self.height = height
        self.values = values
    }

    public subscript(x: Int, y: Int) -> Float {
        get { values[x + width * y] }
        set { values[x + width * y] = newValue }
    }
}

/// An 8-bit RGB image, row by row from the top-left pixel, 3 bytes per pixel.
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `pixels[3·(x + width·y) + c]`, c = 0 red, 1 green, 2 blue.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        precondition(width >= 1 && height >= 1, "image size must be positive")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: 3 * width * height)
        for p in 0..<(width * height) { pixels[3 * p] = fill.0; pixels[3 * p + 1] = fill.1; pixels[3 * p + 2] = fill.2 }
    }

    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get { let n = 3 * (x + width * y); return (pixels[n], pixels[n + 1], pixels[n + 2]) }
        set { let n = 3 * (x + width * y); pixels[n] = newValue.0; pixels[n + 1] = newValue.1; pixels[n + 2] = newValue.2 }
    }

    /// A grey image (0…255) as RGB.
    public init(gray: [UInt8], width: Int, height: Int) {
        self.init(width: width, height: height)
        for p in 0..<(width * height) { pixels[3 * p] = gray[p]; pixels[3 * p + 1] = gray[p]; pixels[3 * p + 2] = gray[p] }
    }

    /// Each pixel repeated `factor`×`factor` times (nearest neighbour).
    public func upscaled(by factor: Int) -> RGBImage {
        precondition(factor >= 1, "factor must be ≥ 1")
        guard factor > 1 else { return self }
        var out = RGBImage(width: width * factor, height: height * factor)
        for y in 0..<out.height {
            for x in 0..<out.width { out[x, y] = self[x / factor, y / factor] }
        }
        return out
    }

    /// Images side by side, top-aligned, `gap` pixels of `background` between them.
    public static func row(_ images: [RGBImage], gap: Int = 4, background: (UInt8, UInt8, UInt8) = (0, 0, 0)) -> RGBImage {
        precondition(!images.isEmpty, "no images to place")
        let w = images.map(\.width).reduce(0, +) + gap * (images.count - 1)
        let h = images.map(\.height).max()!
        var out = RGBImage(width: w, height: h, fill: background)
        var x0 = 0
        for im in images {
            for y in 0..<im.height {
                for x in 0..<im.width { out[x0 + x, y] = im[x, y] }
            }
            x0 += im.width + gap
        }
        return out
    }
}
