import CPNG
import Foundation
import VolumeCore

/// Writes 8-bit RGB PNG files through libpng's simplified API (`png_image_write_to_file`,
/// which needs no `setjmp`); libpng's message becomes a thrown ``QuickLookError``.
public enum PNGWriter {
    /// Writes `image` to `path` atomically (temporary name, then rename).
    public static func write(_ image: RGBImage, to path: String) throws {
        try AtomicFile.withTemporary(for: path) { tmp in
            var png = png_image()
            png.version = png_uint_32(PNG_IMAGE_VERSION)
            png.width = png_uint_32(image.width)
            png.height = png_uint_32(image.height)
            png.format = png_uint_32(PNG_FORMAT_RGB)
            let ok = image.pixels.withUnsafeBytes { raw in
                png_image_write_to_file(&png, tmp, 0, raw.baseAddress, png_int_32(3 * image.width), nil)
            }
            let message = withUnsafeBytes(of: png.message) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            png_image_free(&png)
            guard ok != 0 else {
                throw QuickLookError(path: path, problem: "libpng cannot write the PNG: \(message.isEmpty ? "unknown error" : message)")
            }
        }
    }
}
