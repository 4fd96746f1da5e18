import Foundation

/// Writes NIfTI-1/-2 files byte by byte, independently of the code under test, so that
/// tests can make any header: big-endian, NIfTI-2, odd qforms, scaling, 4D, and bad files.
///
/// Field offsets follow nifti1.h / nifti2.h. Voxel values are given as Doubles and stored
/// in `datatypeCode`'s type and the chosen byte order.
struct NIfTIFileBuilder {
    var version = 1
    var bigEndian = false
    /// dim[0...7]; by default a 3D 4×3×2 image.
    var dim: [Int64] = [3, 4, 3, 2, 1, 1, 1, 1]
    var datatypeCode: Int16 = 16
    var bitpix: Int16? = nil
    /// pixdim[0...7]; pixdim[0] is qfac.
    var pixdim: [Double] = [1, 1, 1, 1, 1, 1, 1, 1]
    var voxOffset: Double? = nil   // default: 352 (v1) or 544 (v2)
    var sclSlope: Double = 1
    var sclInter: Double = 0
    var qformCode: Int32 = 0
    var sformCode: Int32 = 0
    var quatern: [Double] = [0, 0, 0]           // b, c, d
    var qoffset: [Double] = [0, 0, 0]
    var srow: [Double] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]   // srow_x, srow_y, srow_z
    var descrip = "NIfTIFileBuilder"
    var magicOverride: [UInt8]? = nil
    var sizeofHdrOverride: Int32? = nil
    var xyztUnits: UInt8 = 2
    /// Voxel values (i fastest); default 0, 1, 2, … for every voxel of every frame.
    var values: [Double]? = nil

    var voxelCount: Int { (1...Int(max(1, min(7, dim[0])))).reduce(1) { $0 * Int(max(0, dim[$1])) } }

    var bytesPerVoxel: Int {
        switch datatypeCode {
        case 2, 256: 1
        case 4, 512: 2
        case 8, 768, 16: 4
        case 64, 1024, 1280, 32: 8
        default: 4
        }
    }

    /// The whole file: header, 4 zero extension bytes, voxels.
    func bytes() -> [UInt8] {
        var b = ByteWriter(bigEndian: bigEndian)
        let headerSize = version == 1 ? 348 : 540
        let offset = Int(voxOffset ?? Double(headerSize + 4))
        if version == 1 {
            b.int32(sizeofHdrOverride ?? 348)          // 0
            b.zeros(36 - 4)                            // data_type, db_name, extents
            b.int16(0); b.zeros(2)                     // session_error, regular, dim_info
            for d in dim { b.int16(Int16(truncatingIfNeeded: d)) }   // 40 dim
            b.float32(0); b.float32(0); b.float32(0)   // 56 intent_p1..3
            b.int16(0)                                 // 68 intent_code
            b.int16(datatypeCode)                      // 70
            b.int16(bitpix ?? Int16(bytesPerVoxel * 8))   // 72
            b.int16(0)                                 // 74 slice_start
            for p in pixdim { b.float32(Float(p)) }    // 76
            b.float32(Float(voxOffset ?? Double(offset)))   // 108
            b.float32(Float(sclSlope)); b.float32(Float(sclInter))   // 112, 116
            b.int16(0); b.uint8(0); b.uint8(xyztUnits)   // 120 slice_end, slice_code, xyzt_units
            b.zeros(148 - 124)                         // cal_max … glmin
            b.string(descrip, 80)                      // 148
            b.zeros(24)                                // 228 aux_file
            b.int16(Int16(qformCode)); b.int16(Int16(sformCode))   // 252, 254
            for q in quatern { b.float32(Float(q)) }   // 256
            for q in qoffset { b.float32(Float(q)) }   // 268
            for s in srow { b.float32(Float(s)) }      // 280
            b.zeros(16)                                // 328 intent_name
            b.raw(magicOverride ?? [0x6e, 0x2b, 0x31, 0])   // 344 "n+1\0"
        } else {
            b.int32(sizeofHdrOverride ?? 540)          // 0
            b.raw(magicOverride ?? [0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a])   // 4
            b.int16(datatypeCode)                      // 12
            b.int16(bitpix ?? Int16(bytesPerVoxel * 8))   // 14
            for d in dim { b.int64(d) }                // 16
            b.float64(0); b.float64(0); b.float64(0)   // 80 intent_p1..3
            for p in pixdim { b.float64(p) }           // 104
            b.int64(Int64(voxOffset ?? Double(offset)))   // 168
            b.float64(sclSlope); b.float64(sclInter)   // 176, 184
            b.zeros(224 - 192)                         // cal_max, cal_min, slice_duration, toffset
            b.int64(0); b.int64(0)                     // 224 slice_start, slice_end
            b.string(descrip, 80)                      // 240
            b.zeros(24)                                // 320 aux_file
            b.int32(qformCode); b.int32(sformCode)     // 344, 348
            for q in quatern { b.float64(q) }          // 352
            for q in qoffset { b.float64(q) }          // 376
            for s in srow { b.float64(s) }             // 400
            b.int32(0); b.int32(Int32(xyztUnits)); b.int32(0)   // 496 slice_code, xyzt_units, intent_code
            b.zeros(16)                                // 508 intent_name
            b.zeros(16)                                // 524 dim_info, unused_str
        }
        precondition(b.bytes.count == headerSize, "header is \(b.bytes.count) bytes")
        b.zeros(4)   // extension flag: none
        if offset > b.bytes.count { b.zeros(offset - b.bytes.count) }
        let vals = values ?? (0..<voxelCount).map(Double.init)
        for v in vals {
            switch datatypeCode {
            case 2: b.uint8(UInt8(v))
            case 256: b.raw([UInt8(bitPattern: Int8(v))])
            case 4: b.int16(Int16(v))
            case 512: b.uint16(UInt16(v))
            case 8: b.int32(Int32(v))
            case 768: b.uint32(UInt32(v))
            case 16: b.float32(Float(v))
            case 64: b.float64(v)
            default: b.int32(Int32(truncatingIfNeeded: Int(v)))
            }
        }
        return b.bytes
    }

    /// Writes the file (gzip-compressed when `path` ends in `.gz`, with the system `gzip`).
    @discardableResult
    func write(to path: String) throws -> String {
        try NIfTIFileBuilder.writeBytes(bytes(), to: path)
        return path
    }

    static func writeBytes(_ bytes: [UInt8], to path: String, gzip: Bool? = nil) throws {
        let compress = gzip ?? path.hasSuffix(".gz")
        try Data(compress ? gzipped(bytes) : bytes).write(to: URL(fileURLWithPath: path))
    }

    /// `gzip -c -n` of `bytes` (one member, with the ISIZE trailer), via a scratch file.
    static func gzipped(_ bytes: [UInt8]) throws -> [UInt8] {
        let scratch = NSTemporaryDirectory() + "/nifti-builder-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: scratch))
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-c", "-n", scratch]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        precondition(p.terminationStatus == 0, "gzip failed")
        return [UInt8](data)
    }
}

/// Appends little- or big-endian scalars.
struct ByteWriter {
    var bigEndian: Bool
    var bytes: [UInt8] = []

    mutating func uint(_ v: UInt64, _ size: Int) {
        for n in 0..<size {
            let shift = bigEndian ? (size - 1 - n) * 8 : n * 8
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
        }
    }
    mutating func uint8(_ v: UInt8) { bytes.append(v) }
    mutating func int16(_ v: Int16) { uint(UInt64(UInt16(bitPattern: v)), 2) }
    mutating func uint16(_ v: UInt16) { uint(UInt64(v), 2) }
    mutating func int32(_ v: Int32) { uint(UInt64(UInt32(bitPattern: v)), 4) }
    mutating func uint32(_ v: UInt32) { uint(UInt64(v), 4) }
    mutating func int64(_ v: Int64) { uint(UInt64(bitPattern: v), 8) }
    mutating func float32(_ v: Float) { uint(UInt64(v.bitPattern), 4) }
    mutating func float64(_ v: Double) { uint(v.bitPattern, 8) }
    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func string(_ s: String, _ n: Int) {
        let u = Array(s.utf8.prefix(n))
        bytes.append(contentsOf: u)
        zeros(n - u.count)
    }
}
