import Foundation

/// The checks made on a file *before* libnifti is asked to read it, from the raw header bytes.
///
/// libnifti returns NULL for every kind of bad file without saying which, and for a `.nii.gz`
/// it allocates what the header asks for before finding out that the data are not there.
/// This probe reads the first 540 bytes itself (through znzlib, so gzip is handled), finds
/// the version and byte order from `sizeof_hdr`, and checks magic, dims, datatype,
/// `vox_offset` and the data size against the file size and the caller's memory limit.
struct HeaderProbe {
    var version: Int
    var bigEndian: Bool
    var compressed: Bool
    /// Open through zlib (the name ends in `.gz`; zlib reads an uncompressed file as is).
    var openWithGzip: Bool
    /// `[nx, ny, nz, nt]`.
    var dims: [Int]
    var datatype: NIfTIDatatype
    var voxOffset: Int
    /// `pixdim[1...3]` as stored (libnifti replaces values ≤ 0 by 1; nibabel does not).
    var pixdim: SIMD3<Double>
    /// Bytes of stored voxel data (all frames).
    var dataBytes: Int
    /// Size of the file on disk (compressed size for `.nii.gz`).
    var fileSize: Int
    /// Size of the (decompressed) stream: exact for `.nii`; for a small `.nii.gz` the gzip
    /// trailer's ISIZE (a hint: garbage if the file was cut), or the counted size when the
    /// hint said the data were missing.
    var streamSize: Int?

    /// The gzip trailer's ISIZE field (decompressed size mod 2³²), when compressed.
    var gzipISIZE: Int?

    /// A gzip stream that ends early without a zlib error is either cut (truncated) or
    /// damaged so that the decoder consumed the rest of the input. When the trailer is intact
    /// — its ISIZE equals the size the header implies — the file was not cut: it is damaged.
    static func shortGzipKind(isize: Int?, voxOffset: Int, dataBytes: Int) -> NIfTIError.Kind {
        guard let isize else { return .truncated }
        return isize == (voxOffset + dataBytes) & 0xFFFF_FFFF ? .corruptCompression : .truncated
    }

    /// Largest decompressed size for which the gzip ISIZE trailer (size mod 2³²) is exact:
    /// deflate cannot expand by more than ~1032:1.
    static let maxDeflateRatio = 1032

    static func probe(_ path: String, maxVoxelBytes: Int, frames: Int? = nil) throws -> HeaderProbe {
        func fail(_ kind: NIfTIError.Kind, _ detail: String, _ advice: String? = nil) -> NIfTIError {
            NIfTIError(path: path, kind: kind, detail: detail, advice: advice)
        }
        // 1. Does it exist; is it a file?
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw fail(.notFound, "no such file")
        }
        if isDir.boolValue { throw fail(.isDirectory, "this is a directory, not a file") }
        // 2. Name.
        let lower = path.lowercased()
        let nameSaysGzip = path.hasSuffix(".nii.gz")
        if !(path.hasSuffix(".nii") || nameSaysGzip) {
            if lower.hasSuffix(".hdr") || lower.hasSuffix(".img") || lower.hasSuffix(".hdr.gz") || lower.hasSuffix(".img.gz") {
                throw fail(.unsupportedFormat, "a .hdr/.img file pair is not supported",
                           "Convert it to a single .nii file (e.g. nibabel: nib.save(nib.load(p), 'x.nii'))")
            }
            throw fail(.unsupportedFormat, "the file name does not end in .nii or .nii.gz",
                       "Rename it to .nii (or .nii.gz if it is gzip-compressed), in lower case")
        }
        guard access(path, R_OK) == 0, let fh = FileHandle(forReadingAtPath: path) else {
            throw fail(.unreadable, "cannot open the file for reading (\(String(cString: strerror(errno))))")
        }
        defer { try? fh.close() }
        let fileSize: Int
        do { fileSize = Int(try fh.seekToEnd()) } catch {
            throw fail(.unreadable, "cannot determine the file size")
        }
        if fileSize == 0 { throw fail(.truncated, "the file is empty") }
        try? fh.seek(toOffset: 0)
        let magic = (try? fh.read(upToCount: 2)) ?? Data()
        let compressed = magic.count == 2 && magic[magic.startIndex] == 0x1f && magic[magic.startIndex + 1] == 0x8b
        if compressed && !nameSaysGzip {
            throw fail(.unsupportedFormat, "the file is gzip-compressed but its name ends in .nii",
                       "Rename it to end in .nii.gz")
        }
        var streamSize: Int? = compressed ? nil : fileSize
        var isize: Int? = nil
        if compressed, fileSize >= 18 {
            try? fh.seek(toOffset: UInt64(fileSize - 4))
            let t = [UInt8]((try? fh.read(upToCount: 4)) ?? Data())
            if t.count == 4 {
                isize = Int(t[0]) | Int(t[1]) << 8 | Int(t[2]) << 16 | Int(t[3]) << 24
                if fileSize < (1 << 32) / maxDeflateRatio { streamSize = isize }
            }
        }

        // 3. Raw header bytes (decompressed by znzlib, as libnifti will).
        let bytes: [UInt8]
        switch ZNZ.readPrefix(path, count: 540, gzip: nameSaysGzip) {
        case .cannotOpen: throw fail(.unreadable, "cannot open the file for reading")
        case .corrupt: throw fail(.corruptCompression, "the gzip data are damaged (zlib data error in the header)")
        case .bytes(let b): bytes = b
        }
        guard bytes.count >= 4 else {
            if compressed { throw fail(.truncated, "the gzip stream ends after \(bytes.count) bytes, inside the header") }
            throw fail(.truncated, "the file has only \(bytes.count) bytes, less than a header")
        }
        let le = RawBytes(bytes: bytes, bigEndian: false)
        let version: Int, bigEndian: Bool
        switch (le.int32(0), le.int32(0).byteSwapped) {
        case (348, _): (version, bigEndian) = (1, false)
        case (540, _): (version, bigEndian) = (2, false)
        case (_, 348): (version, bigEndian) = (1, true)
        case (_, 540): (version, bigEndian) = (2, true)
        default:
            throw fail(.notNIfTI, "not a NIfTI file (sizeof_hdr is neither 348 nor 540)")
        }
        let headerSize = version == 1 ? 348 : 540
        guard bytes.count >= headerSize else {
            throw fail(.truncated, "the file ends after \(bytes.count) bytes, inside the \(headerSize)-byte NIfTI-\(version) header")
        }
        let r = RawBytes(bytes: bytes, bigEndian: bigEndian)
        let magicBytes = version == 1 ? Array(bytes[344..<348]) : Array(bytes[4..<12])
        let single: [UInt8] = version == 1 ? [0x6e, 0x2b, 0x31, 0] : [0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a]
        let pair: [UInt8] = version == 1 ? [0x6e, 0x69, 0x31, 0] : [0x6e, 0x69, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a]
        if magicBytes == pair {
            throw fail(.unsupportedFormat, "the header says its data are in a separate .img file (magic ni\(version))",
                       "Convert the pair to a single .nii file")
        }
        guard magicBytes == single else {
            let shown = magicBytes.prefix(4).map { $0 >= 32 && $0 < 127 ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
            throw fail(.notNIfTI, "the NIfTI-\(version) magic is \"\(shown)\", not \"n+\(version)\" (an Analyze 7.5 file or damaged header?)")
        }

        // 4. dims.
        let dim: [Int64] = (0..<8).map { version == 1 ? Int64(r.int16(40 + 2 * $0)) : r.int64(16 + 8 * $0) }
        let ndim = dim[0]
        guard (1...7).contains(ndim) else {
            throw fail(.badDimensions, "dim[0] is \(ndim); it must be from 1 to 7")
        }
        for n in 1...Int(ndim) where dim[n] < 1 {
            throw fail(.badDimensions, "dim[\(n)] is \(dim[n]); every used dimension must be at least 1")
        }
        if ndim >= 5 {
            for n in 5...Int(ndim) where dim[n] != 1 {
                throw fail(.badDimensions, "the image has \(ndim) dimensions (dim[\(n)] = \(dim[n])); stnreg reads 3D and 4D images only",
                           "Split the image into 3D or 4D files")
            }
        }
        let dims = (1...4).map { $0 <= ndim ? Int(clamping: dim[$0]) : 1 }

        // 5. datatype.
        let code = Int32(r.int16(version == 1 ? 70 : 12))
        guard let datatype = NIfTIDatatype(code: code) else {
            throw fail(.unsupportedDatatype, "the datatype is \(NIfTIDatatype.describe(code: code)), which stnreg does not read")
        }

        // 6. Size and memory limit (checked with overflow detection: NIfTI-2 dims are 64-bit).
        var nvox = 1
        var overflow = false
        for d in dims {
            let (p, o) = nvox.multipliedReportingOverflow(by: d)
            nvox = p; overflow = overflow || o
        }
        let (dataBytes, o1) = nvox.multipliedReportingOverflow(by: datatype.bytesPerVoxel)
        let framesNeeded = frames ?? dims[3]
        // (Every product checked: with a NIfTI-2 dim[4] near 2⁶³, even `4 · frames` overflows.)
        let perFrame = nvox / dims[3]
        let (perFrameDecoded, o2) = perFrame.multipliedReportingOverflow(by: 4)
        let (decoded, o3) = perFrameDecoded.multipliedReportingOverflow(by: framesNeeded)
        if overflow || o1 || o2 || o3 {
            throw fail(.tooLarge, "the dims \(dims.map(String.init).joined(separator: "×")) overflow a 64-bit voxel count")
        }
        // The largest buffer a read allocates: libnifti's stored data or our Float32 copy.
        let stored = perFrame * datatype.bytesPerVoxel * framesNeeded   // ≤ dataBytes: no overflow
        let largest = max(decoded, stored)
        if largest > maxVoxelBytes {
            throw fail(.tooLarge, "the dims \(dims.map(String.init).joined(separator: "×")) (\(datatype.rawValue)) need \(byteString(largest)), more than the limit of \(byteString(maxVoxelBytes))")
        }

        // 7. vox_offset against the header and the file.
        let voxOffset: Int
        if version == 1 {
            let v = Double(r.float32(108))
            guard v.isFinite, v == v.rounded(), v >= 0, v < 1e15 else {
                throw fail(.badVoxOffset, "vox_offset is \(v); it must be a whole number of bytes")
            }
            voxOffset = Int(v)
        } else {
            voxOffset = Int(clamping: r.int64(168))
        }
        let minOffset = headerSize + 4
        guard voxOffset >= minOffset else {
            throw fail(.badVoxOffset, "vox_offset is \(voxOffset), inside the header (a single-file NIfTI-\(version) needs at least \(minOffset))")
        }
        // The end of the voxel data; a NIfTI-2 vox_offset near 2⁶³ must not overflow it.
        let (dataEnd, endOverflow) = voxOffset.addingReportingOverflow(dataBytes)
        if endOverflow {
            throw fail(.badVoxOffset, "vox_offset is \(voxOffset), past the end of any file")
        }
        if compressed {
            // Deflate expands at most ~1032:1, so a header (or a forged ISIZE trailer) asking for
            // more than that cannot be right: refuse before allocating what it asks for.
            let maxUncompressed = fileSize.multipliedReportingOverflow(by: maxDeflateRatio)
            if !maxUncompressed.overflow, voxOffset > maxUncompressed.partialValue {
                throw fail(.badVoxOffset, "vox_offset \(voxOffset) is past the end of anything a \(fileSize)-byte gzip file can hold")
            }
            if !maxUncompressed.overflow, dataEnd > maxUncompressed.partialValue {
                throw fail(.truncated, "the header asks for \(dataEnd) bytes of decompressed data but a \(fileSize)-byte gzip file cannot hold that many")
            }
        }
        if compressed, let hint = streamSize, dataEnd > hint {
            // The ISIZE hint says the data are missing; it is garbage when the file was cut,
            // and only the last member's size for multi-member gzip: decompress to be sure
            // (constant memory; only on this failure path).
            switch ZNZ.streamLength(path, gzip: true) {
            case .none: throw fail(.unreadable, "cannot open the file for reading")
            case .some(.none): throw fail(.corruptCompression, "the gzip data are damaged (zlib data or checksum error)")
            case .some(.some(let n)): streamSize = n
            }
        }
        if let size = streamSize {
            let what = compressed ? "the decompressed data (\(size) bytes)" : "the file (\(size) bytes)"
            guard voxOffset <= size else {
                throw fail(.badVoxOffset, "vox_offset \(voxOffset) is past the end of \(what)")
            }
            guard dataEnd <= size else {
                let kind = compressed ? shortGzipKind(isize: isize, voxOffset: voxOffset, dataBytes: dataBytes) : .truncated
                let why = kind == .corruptCompression ? " although the gzip trailer records the full size (damaged data)" : ""
                throw fail(kind, "the voxel data need \(dataBytes) bytes from offset \(voxOffset) but \(what) end \(dataEnd - size) bytes short\(why)")
            }
        }
        // (Large .nii.gz without a usable ISIZE hint: the trailer gives the size mod 2³²; only
        // the deflate-ratio bound above applies, and a short stream is found while reading.)
        // A damaged gzip stream can end early although ISIZE looks right. libnifti reads the
        // extensions (when the flag after the header is set) up to vox_offset and prints
        // "** znzread: read short" to stderr when they are cut: check that they are there.
        // (The 540-byte prefix ends before a NIfTI-2 file's flag: check those files always.)
        let extensionFlag = bytes.count > headerSize ? bytes[headerSize] != 0 : true
        if compressed, extensionFlag, voxOffset <= 64 << 20 {
            switch ZNZ.readPrefix(path, count: voxOffset, gzip: true) {
            case .cannotOpen: throw fail(.unreadable, "cannot open the file for reading")
            case .corrupt: throw fail(.corruptCompression, "the gzip data are damaged (zlib data error before the voxel data)")
            case .bytes(let b) where b.count < voxOffset:
                let kind = shortGzipKind(isize: isize, voxOffset: voxOffset, dataBytes: dataBytes)
                throw fail(kind, "the gzip stream ends after \(b.count) bytes, inside the header extensions (vox_offset \(voxOffset))")
            case .bytes: break
            }
        }
        let pixdim: SIMD3<Double> = version == 1
            ? SIMD3(Double(r.float32(80)), Double(r.float32(84)), Double(r.float32(88)))
            : SIMD3(r.float64(112), r.float64(120), r.float64(128))
        return HeaderProbe(version: version, bigEndian: bigEndian, compressed: compressed, openWithGzip: nameSaysGzip, dims: dims,
                           datatype: datatype, voxOffset: voxOffset, pixdim: pixdim, dataBytes: dataBytes,
                           fileSize: fileSize, streamSize: streamSize, gzipISIZE: isize)
    }
}

func byteString(_ n: Int) -> String {
    let gib = Double(n) / Double(1 << 30)
    if gib >= 0.1 { return String(format: "%.1f GiB", gib) }
    return String(format: "%.1f MiB", Double(n) / Double(1 << 20))
}

/// Little- or big-endian scalar fields from header bytes.
private struct RawBytes {
    var bytes: [UInt8]
    var bigEndian: Bool

    func uint(_ offset: Int, _ size: Int) -> UInt64 {
        var v: UInt64 = 0
        for n in 0..<size {
            let b = UInt64(bytes[offset + (bigEndian ? n : size - 1 - n)])
            v = v << 8 | b
        }
        return v
    }
    func int16(_ o: Int) -> Int16 { Int16(truncatingIfNeeded: uint(o, 2)) }
    func int32(_ o: Int) -> Int32 { Int32(truncatingIfNeeded: uint(o, 4)) }
    func int64(_ o: Int) -> Int64 { Int64(bitPattern: uint(o, 8)) }
    func float32(_ o: Int) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: uint(o, 4))) }
    func float64(_ o: Int) -> Double { Double(bitPattern: uint(o, 8)) }
}
