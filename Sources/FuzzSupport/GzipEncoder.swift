/// A small gzip writer (RFC 1951/1952) for building fuzz inputs without zlib.
///
/// Two deflate block kinds: *stored* (the bytes as they are) and *fixed Huffman* with
/// literals and distance-1 runs, so that mutated deflate bytes exercise zlib's Huffman and
/// back-reference decoding. The output is a valid single-member gzip stream with CRC-32 and
/// ISIZE; the fuzzer then damages it on purpose.
public enum GzipEncoder {
    public enum Blocks: Sendable, CaseIterable {
        case stored
        case fixedHuffman
    }

    /// One gzip member holding `bytes`.
    public static func gzip(_ bytes: [UInt8], blocks: Blocks = .fixedHuffman) -> [UInt8] {
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]   // no flags, mtime 0, OS unix
        switch blocks {
        case .stored: out += storedDeflate(bytes)
        case .fixedHuffman: out += fixedHuffmanDeflate(bytes)
        }
        let crc = crc32(bytes)
        let size = UInt32(truncatingIfNeeded: bytes.count)
        for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(s))) }
        for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: size >> UInt32(s))) }
        return out
    }

    /// Stored blocks of at most 65,535 bytes.
    static func storedDeflate(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var start = 0
        repeat {
            let n = min(65_535, bytes.count - start)
            let final: UInt8 = start + n == bytes.count ? 1 : 0
            out.append(final)   // BFINAL, BTYPE = 00, padding to the byte
            let len = UInt16(n), nlen = ~UInt16(n)
            out += [UInt8(len & 0xff), UInt8(len >> 8), UInt8(nlen & 0xff), UInt8(nlen >> 8)]
            out += bytes[start..<(start + n)]
            start += n
        } while start < bytes.count
        return out
    }

    /// One fixed-Huffman block: literals, and runs of a repeated byte as (length, distance 1).
    static func fixedHuffmanDeflate(_ bytes: [UInt8]) -> [UInt8] {
        var w = BitWriter()
        w.bits(1, 1)   // BFINAL
        w.bits(1, 2)   // BTYPE = 01 (fixed Huffman)
        var n = 0
        while n < bytes.count {
            w.literal(bytes[n])
            var run = 0
            while n + 1 + run < bytes.count, bytes[n + 1 + run] == bytes[n], run < 258 { run += 1 }
            if run >= 3 {
                w.match(length: run)
                n += 1 + run
            } else {
                n += 1
            }
        }
        w.code(0, 7)   // end of block (256)
        return w.finish()
    }

    /// CRC-32 (IEEE, reflected, as gzip).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xffff_ffff
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}

/// Deflate's bit order: values LSB first; Huffman codes MSB first.
private struct BitWriter {
    var out: [UInt8] = []
    var acc: UInt32 = 0
    var count = 0

    mutating func bits(_ value: Int, _ n: Int) {
        acc |= UInt32(value) << UInt32(count)
        count += n
        while count >= 8 { out.append(UInt8(acc & 0xff)); acc >>= 8; count -= 8 }
    }

    /// A Huffman code of `n` bits, most significant bit first.
    mutating func code(_ value: Int, _ n: Int) {
        var r = 0
        for b in 0..<n where value & (1 << b) != 0 { r |= 1 << (n - 1 - b) }
        bits(r, n)
    }

    mutating func literal(_ b: UInt8) {
        if b < 144 { code(0x30 + Int(b), 8) } else { code(0x190 + Int(b) - 144, 9) }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                             67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                              4, 4, 4, 4, 5, 5, 5, 5, 0]

    /// A copy of `length` (3…258) bytes from distance 1.
    mutating func match(length: Int) {
        let idx = BitWriter.lengthBase.lastIndex(where: { $0 <= length })!
        let symbol = 257 + idx
        if symbol <= 279 { code(symbol - 256, 7) } else { code(0xc0 + symbol - 280, 8) }
        if BitWriter.lengthExtra[idx] > 0 { bits(length - BitWriter.lengthBase[idx], BitWriter.lengthExtra[idx]) }
        code(0, 5)   // distance code 0 = distance 1
    }

    mutating func finish() -> [UInt8] {
        if count > 0 { out.append(UInt8(acc & 0xff)); acc = 0; count = 0 }
        return out
    }
}
