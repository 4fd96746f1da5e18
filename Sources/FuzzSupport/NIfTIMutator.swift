import VolumeCore

/// One fuzz input: the bytes to write, the file extension to give them, and what was done.
public struct FuzzInput: Sendable {
    public var bytes: [UInt8]
    /// `.nii` or `.nii.gz` (sometimes the wrong one on purpose).
    public var fileExtension: String
    /// The seed and the mutations applied, for the report.
    public var recipe: [String]
}

/// Seeded mutations of NIfTI seeds: header fields set to interesting values, bit flips,
/// truncations, extensions, NaN/Inf voxels, and gzip-level damage (deflate bytes, CRC, ISIZE,
/// header flags, extra members). Input `n` of seed `s` depends only on `(s, n)`, so any input
/// can be regenerated from the numbers in a report.
public struct NIfTIMutator: Sendable {
    public var seeds: [NIfTISeed]

    public init(seeds: [NIfTISeed]) {
        precondition(!seeds.isEmpty)
        self.seeds = seeds
    }

    /// The input number `index` of the run with `seed`.
    public func input(seed: UInt64, index: Int) -> FuzzInput {
        var rng = SeededGenerator(seed: NIfTIMutator.mix(seed, UInt64(index)))
        for _ in 0..<2 { _ = rng.next() }
        // Large seeds (TestVolumes) are slow to read: pick them rarely.
        let small = seeds.indices.filter { seeds[$0].raw.count <= 1 << 16 }
        let large = seeds.indices.filter { seeds[$0].raw.count > 1 << 16 }
        let pick = (!large.isEmpty && rng.next() % 50 == 0) ? large : (small.isEmpty ? large : small)
        let s = seeds[pick[Int(rng.next() % UInt64(pick.count))]]
        var recipe = [s.name + s.fileExtension]
        var raw = s.raw
        var ext = s.fileExtension

        // 1. Mutations of the decompressed file (header fields, data, length).
        let rawCount = Int(rng.next() % 4)   // 0…3
        for _ in 0..<rawCount { recipe.append(mutateRaw(&raw, s, &rng)) }

        // 2. Encode (the seed's own stream when nothing changed, else re-encoded).
        var stored: [UInt8]
        if s.compressed {
            if rawCount == 0 {
                stored = s.stored
            } else {
                let blocks: GzipEncoder.Blocks = rng.next() % 4 == 0 ? .stored : .fixedHuffman
                stored = GzipEncoder.gzip(raw, blocks: blocks)
                recipe.append("gzip \(blocks)")
            }
            // 3. gzip-level damage, about half the time.
            if rawCount == 0 || rng.next() % 2 == 0 {
                let n = 1 + Int(rng.next() % 2)
                for _ in 0..<n { recipe.append(mutateGzip(&stored, rawSize: raw.count, &rng)) }
            }
        } else {
            stored = raw
        }
        // 4. Rarely, the wrong name.
        if rng.next() % 40 == 0 {
            ext = ext == ".nii" ? ".nii.gz" : ".nii"
            recipe.append("named \(ext)")
        }
        return FuzzInput(bytes: stored, fileExtension: ext, recipe: recipe)
    }

    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var z = a &+ 0x9e37_79b9_7f4a_7c15 &* (b &+ 1)
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    // MARK: - Decompressed bytes

    static let interesting16: [Int64] = [0, 1, -1, 2, 3, 4, 7, 8, 0x7f, 0x80, 0xff, 0x100, 255, 256, 1000, 32767, -32768, -2, 16, 64, 512, 768, 1024, 2304]
    static let interesting32: [Int64] = [0, 1, -1, 0x7f, 0x80, 0xff, 348, 540, 352, 544, 4096, 65535, 65536, 1 << 20, 1 << 24,
                                         Int64(Int32.max), Int64(Int32.min), Int64(Int32.max) - 1, 0x7fff_ff00, -348]
    static let interesting64: [Int64] = interesting32 + [Int64.max, Int64.min, Int64.max - 1, 1 << 32, 1 << 40, 1 << 62, -(1 << 40),
                                                         3_037_000_500, 2_097_152, 1 << 31]
    static let interestingFloat: [Double] = [0, -0.0, 1, -1, 0.5, 2, 1e-30, -1e-30, 1e30, -1e30, 1e38, 3.4e38, 1e300, .nan, -.nan,
                                             .infinity, -.infinity, Double(Float.leastNonzeroMagnitude), 352, 352.5, 544, 1e15, 4096]

    func mutateRaw(_ raw: inout [UInt8], _ s: NIfTISeed, _ rng: inout SeededGenerator) -> String {
        let version = s.version
        let headerEnd = min(raw.count, version == 1 ? 352 : 544)
        func choose<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        switch rng.next() % 100 {
        case 0..<45:
            // A named header field set to an interesting value.
            let field = choose(NIfTIField.fields(version: version))
            guard field.offset + field.width <= raw.count else { return "field \(field.name) beyond end" }
            var w = ByteWriter(bigEndian: s.bigEndian)
            var shown = ""
            switch field.kind {
            case .int16: let v = choose(NIfTIMutator.interesting16); w.int16(Int16(truncatingIfNeeded: v)); shown = "\(v)"
            case .int32: let v = choose(NIfTIMutator.interesting32); w.int32(Int32(truncatingIfNeeded: v)); shown = "\(v)"
            case .int64: let v = choose(NIfTIMutator.interesting64); w.int64(v); shown = "\(v)"
            case .float32: let v = choose(NIfTIMutator.interestingFloat); w.float32(Float(v)); shown = "\(v)"
            case .float64: let v = choose(NIfTIMutator.interestingFloat); w.float64(v); shown = "\(v)"
            case .bytes(let n):
                let b = choose([UInt8(0), 0xff, 0x7f, 0x80, 0x20])
                let at = Int(rng.next() % UInt64(n))
                raw[field.offset + at] = b
                return "\(field.name)[\(at)] = \(b)"
            }
            for (n, b) in w.bytes.enumerated() { raw[field.offset + n] = b }
            return "\(field.name) = \(shown)"
        case 45..<60:
            // Bit flips, mostly in the header.
            let flips = 1 + Int(rng.next() % 4)
            var places: [Int] = []
            for _ in 0..<flips {
                let limit = rng.next() % 4 == 0 ? raw.count : headerEnd
                guard limit > 0 else { break }
                let at = Int(rng.next() % UInt64(limit))
                raw[at] ^= UInt8(1 << (rng.next() % 8))
                places.append(at)
            }
            return "bit flips at \(places)"
        case 60..<68:
            // A header byte set to an interesting value.
            guard headerEnd > 0 else { return "no header" }
            let at = Int(rng.next() % UInt64(headerEnd))
            let b = choose([UInt8(0), 0xff, 0x7f, 0x80])
            raw[at] = b
            return "byte \(at) = \(b)"
        case 68..<78:
            // Truncation: inside the header, just after it, or inside the data.
            let cut: Int
            switch rng.next() % 3 {
            case 0: cut = Int(rng.next() % UInt64(max(1, headerEnd)))
            case 1: cut = max(0, headerEnd - 4 + Int(rng.next() % 8))
            default: cut = Int(rng.next() % UInt64(max(1, raw.count)))
            }
            raw = Array(raw.prefix(cut))
            return "truncate to \(cut)"
        case 78..<84:
            // Extension: garbage or zeros appended, or an extension block inserted.
            if rng.next() % 2 == 0 {
                let n = Int(rng.next() % 64)
                raw += (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                return "append \(n) random bytes"
            }
            let at = version == 1 ? 348 : 540
            guard raw.count >= at + 4 else { return "no extension flag" }
            raw[at] = 1
            var w = ByteWriter(bigEndian: s.bigEndian)
            let esize = choose([Int32(16), 32, 8, 0, -16, 7, 1 << 30, Int32.max])
            w.int32(esize); w.int32(choose([Int32(4), 6, 0, -1]))
            w.zeros(8)
            raw.insert(contentsOf: w.bytes, at: at + 4)
            return "extension esize \(esize) inserted"
        case 84..<94:
            // NaN/Inf voxels in float data.
            guard raw.count > headerEnd + 8 else { return "no data" }
            let wide = rng.next() % 2 == 0
            let count = 1 + Int(rng.next() % 3)
            for _ in 0..<count {
                var w = ByteWriter(bigEndian: s.bigEndian)
                let v = choose([Double.nan, .infinity, -.infinity, 1e30, -1e38])
                if wide { w.float64(v) } else { w.float32(Float(v)) }
                let span = raw.count - headerEnd - w.bytes.count
                guard span > 0 else { break }
                let at = headerEnd + Int(rng.next() % UInt64(span)) / w.bytes.count * w.bytes.count
                for (n, b) in w.bytes.enumerated() { raw[at + n] = b }
            }
            return "\(count) non-finite \(wide ? "float64" : "float32") voxel(s)"
        default:
            // Random bytes over a random span of the header.
            guard headerEnd > 0 else { return "no header" }
            let at = Int(rng.next() % UInt64(headerEnd))
            let n = min(headerEnd - at, 1 + Int(rng.next() % 16))
            for k in 0..<n { raw[at + k] = UInt8(truncatingIfNeeded: rng.next()) }
            return "random bytes at \(at)..<\(at + n)"
        }
    }

    // MARK: - gzip stream

    func mutateGzip(_ gz: inout [UInt8], rawSize: Int, _ rng: inout SeededGenerator) -> String {
        guard gz.count >= 18 else { return "gzip too short to damage" }
        func le32(_ v: UInt32, at: Int) { for n in 0..<4 { gz[at + n] = UInt8(truncatingIfNeeded: v >> UInt32(8 * n)) } }
        let body = 10..<(gz.count - 8)
        switch rng.next() % 100 {
        case 0..<30:
            let flips = 1 + Int(rng.next() % 3)
            var places: [Int] = []
            for _ in 0..<flips where !body.isEmpty {
                // Bias towards the first bytes (the header's deflate data).
                let span = rng.next() % 2 == 0 ? min(body.count, 64) : body.count
                let at = body.lowerBound + Int(rng.next() % UInt64(span))
                gz[at] ^= UInt8(1 << (rng.next() % 8))
                places.append(at)
            }
            return "deflate bit flips at \(places)"
        case 30..<40:
            let at = body.lowerBound + Int(rng.next() % UInt64(max(1, body.count)))
            gz[min(at, gz.count - 9)] = [0, 0xff, 0x7f, 0x80][Int(rng.next() % 4)]
            return "deflate byte \(at) set"
        case 40..<50:
            let at = gz.count - 8 + Int(rng.next() % 4)
            gz[at] ^= UInt8(1 << (rng.next() % 8))
            return "CRC bit flip"
        case 50..<65:
            let values: [UInt32] = [0, 1, 0xffff_ffff, UInt32(truncatingIfNeeded: rawSize + 1), UInt32(truncatingIfNeeded: rawSize - 1),
                                    UInt32(truncatingIfNeeded: rawSize * 2), 60 << 20, 200 << 20, 0x8000_0000, 348, 352]
            let v = values[Int(rng.next() % UInt64(values.count))]
            le32(v, at: gz.count - 4)
            return "ISIZE = \(v)"
        case 65..<80:
            let cut = Int(rng.next() % UInt64(gz.count))
            gz = Array(gz.prefix(cut))
            return "gzip truncated to \(cut)"
        case 80..<88:
            // Header: flags (FEXTRA/FNAME/FCOMMENT/FHCRC/reserved), method, or magic.
            let which = Int(rng.next() % 3)
            if which == 0 { gz[3] = UInt8(1 << (rng.next() % 8)) } else if which == 1 { gz[2] = [0, 7, 9, 0xff][Int(rng.next() % 4)] } else { gz[1] ^= 0x10 }
            return "gzip header byte \([3, 2, 1][which]) changed"
        case 88..<94:
            let n = Int(rng.next() % 32)
            gz += (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            return "\(n) bytes after the gzip trailer"
        default:
            // A second member (zlib reads concatenated members as one stream).
            let extra = (0..<Int(rng.next() % 600)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            gz += GzipEncoder.gzip(extra, blocks: rng.next() % 2 == 0 ? .stored : .fixedHuffman)
            return "second gzip member of \(extra.count) bytes"
        }
    }
}
