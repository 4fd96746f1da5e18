import Foundation

/// Small, valid NIfTI files built byte by byte (independently of NIfTIIO): the seeds the
/// mutator starts from. NIfTI-1 and -2, both byte orders, 3D and 4D, all eight datatypes.
///
/// Field offsets follow nifti1.h / nifti2.h (see ``NIfTIField``).
public struct NIfTISeedSpec: Sendable {
    public var version = 1
    public var bigEndian = false
    /// dim[0...7].
    public var dim: [Int64] = [3, 4, 3, 2, 1, 1, 1, 1]
    public var datatypeCode: Int16 = 16
    public var pixdim: [Double] = [1, 1, 1, 1, 1, 1, 1, 1]
    public var sclSlope: Double = 1
    public var sclInter: Double = 0
    public var qformCode: Int32 = 1
    public var sformCode: Int32 = 1
    public var quatern: [Double] = [0, 0, 0]
    public var qoffset: [Double] = [0, 0, 0]
    public var srow: [Double] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    /// Bytes of one NIfTI extension (esize, ecode, payload) after the header; 0 = none.
    public var extensionPayload = 0

    public init() {}

    var headerSize: Int { version == 1 ? 348 : 540 }
    var voxelCount: Int { (1...Int(dim[0])).reduce(1) { $0 * Int(dim[$1]) } }
    var bytesPerVoxel: Int {
        switch datatypeCode {
        case 2, 256: 1
        case 4, 512: 2
        case 64: 8
        default: 4
        }
    }

    /// The whole file: header, extension flag (and extension), voxels i, j, k, t fastest first,
    /// with values `0, 1, 2, …` wrapped into the type's range.
    public func bytes() -> [UInt8] {
        var b = ByteWriter(bigEndian: bigEndian)
        let ext = extensionPayload > 0 ? 8 + ((extensionPayload + 15) / 16) * 16 - 8 : 0
        let offset = headerSize + 4 + ext
        if version == 1 {
            b.int32(348)
            b.zeros(36)
            for d in dim { b.int16(Int16(d)) }          // 40
            b.zeros(12); b.int16(0)                     // intent
            b.int16(datatypeCode)                       // 70
            b.int16(Int16(bytesPerVoxel * 8))           // 72 bitpix
            b.int16(0)
            for p in pixdim { b.float32(Float(p)) }     // 76
            b.float32(Float(offset))                    // 108
            b.float32(Float(sclSlope)); b.float32(Float(sclInter))
            b.int16(0); b.uint8(0); b.uint8(10)         // xyzt_units: mm, s
            b.zeros(24)
            b.string("stnfuzz seed", 80)                // 148
            b.zeros(24)
            b.int16(Int16(qformCode)); b.int16(Int16(sformCode))   // 252
            for q in quatern { b.float32(Float(q)) }
            for q in qoffset { b.float32(Float(q)) }
            for s in srow { b.float32(Float(s)) }       // 280
            b.zeros(16)
            b.raw([0x6e, 0x2b, 0x31, 0])                // 344
        } else {
            b.int32(540)
            b.raw([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a])
            b.int16(datatypeCode)                       // 12
            b.int16(Int16(bytesPerVoxel * 8))           // 14
            for d in dim { b.int64(d) }                 // 16
            b.zeros(24)
            for p in pixdim { b.float64(p) }            // 104
            b.int64(Int64(offset))                      // 168
            b.float64(sclSlope); b.float64(sclInter)    // 176
            b.zeros(32); b.zeros(16)
            b.string("stnfuzz seed", 80)                // 240
            b.zeros(24)
            b.int32(qformCode); b.int32(sformCode)      // 344
            for q in quatern { b.float64(q) }
            for q in qoffset { b.float64(q) }
            for s in srow { b.float64(s) }              // 400
            b.int32(0); b.int32(10); b.int32(0)
            b.zeros(32)
        }
        precondition(b.bytes.count == headerSize)
        if ext > 0 {
            b.raw([1, 0, 0, 0])
            b.int32(Int32(ext)); b.int32(6)             // esize, ecode (comment)
            b.raw((0..<(ext - 8)).map { UInt8(0x41 + $0 % 26) })
        } else {
            b.zeros(4)
        }
        for v in 0..<voxelCount {
            switch datatypeCode {
            case 2: b.uint8(UInt8(v % 256))
            case 256: b.uint8(UInt8(truncatingIfNeeded: v % 128))
            case 4: b.int16(Int16(v % 32768))
            case 512: b.uint16(UInt16(v % 65536))
            case 8: b.int32(Int32(v))
            case 768: b.uint32(UInt32(v))
            case 64: b.float64(Double(v) * 0.5)
            default: b.float32(Float(v) * 0.5)
            }
        }
        return b.bytes
    }
}

/// One seed: a name, the plain file bytes and whether it is stored gzip-compressed.
public struct NIfTISeed: Sendable {
    public var name: String
    /// The decompressed file (header + data).
    public var raw: [UInt8]
    /// The file as stored: `raw` itself, or a gzip stream of it.
    public var stored: [UInt8]
    public var compressed: Bool
    public var version: Int { Array(raw.prefix(4)) == [0x5c, 1, 0, 0] || Array(raw.prefix(4)) == [0, 0, 1, 0x5c] ? 1 : 2 }
    public var bigEndian: Bool { raw.first == 0 }

    public init(name: String, raw: [UInt8], stored: [UInt8]? = nil, compressed: Bool) {
        self.name = name
        self.raw = raw
        self.compressed = compressed
        self.stored = stored ?? (compressed ? GzipEncoder.gzip(raw) : raw)
    }

    public var fileExtension: String { compressed ? ".nii.gz" : ".nii" }
}

public enum NIfTISeeds {
    /// The built-in seeds: every datatype, both versions and byte orders, 3D and 4D, with and
    /// without an extension, oblique qform, scaling, each as `.nii` and `.nii.gz`.
    public static func builtIn() -> [NIfTISeed] {
        var specs: [(String, NIfTISeedSpec)] = []
        let types: [(String, Int16)] = [("u8", 2), ("i8", 256), ("i16", 4), ("u16", 512), ("i32", 8), ("u32", 768), ("f32", 16), ("f64", 64)]
        for version in [1, 2] {
            for big in [false, true] {
                for (tn, code) in types {
                    var s = NIfTISeedSpec()
                    s.version = version; s.bigEndian = big; s.datatypeCode = code
                    specs.append(("v\(version)-\(big ? "be" : "le")-\(tn)-3d", s))
                }
                var s4 = NIfTISeedSpec()
                s4.version = version; s4.bigEndian = big
                s4.dim = [4, 3, 3, 2, 3, 1, 1, 1]
                s4.pixdim = [1, 2, 2.5, 3, 1.5, 1, 1, 1]
                s4.quatern = [0.1, 0.2, 0.3]; s4.qoffset = [-10, 5, 7]; s4.qformCode = 1; s4.sformCode = 0
                s4.sclSlope = 2; s4.sclInter = -1
                specs.append(("v\(version)-\(big ? "be" : "le")-f32-4d-oblique-scaled", s4))
                var sx = NIfTISeedSpec()
                sx.version = version; sx.bigEndian = big; sx.datatypeCode = 4
                sx.extensionPayload = 40
                sx.qformCode = 0; sx.sformCode = 0
                specs.append(("v\(version)-\(big ? "be" : "le")-i16-extension-pixdim", sx))
            }
        }
        var seeds: [NIfTISeed] = []
        for (name, spec) in specs {
            let raw = spec.bytes()
            seeds.append(NIfTISeed(name: name, raw: raw, compressed: false))
            seeds.append(NIfTISeed(name: name, raw: raw, compressed: true))
        }
        return seeds
    }
}

/// A header field the mutator targets: its offset and type in each version.
public struct NIfTIField: Sendable {
    public enum Kind: Sendable { case int16, int32, int64, float32, float64, bytes(Int) }
    public var name: String
    public var offset: Int
    public var kind: Kind

    public var width: Int {
        switch kind {
        case .int16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        case .bytes(let n): n
        }
    }

    /// The fields that matter to a reader, by version (nifti1.h / nifti2.h).
    public static func fields(version: Int) -> [NIfTIField] {
        if version == 1 {
            var f: [NIfTIField] = [.init(name: "sizeof_hdr", offset: 0, kind: .int32)]
            f += (0..<8).map { .init(name: "dim[\($0)]", offset: 40 + 2 * $0, kind: .int16) }
            f += [.init(name: "datatype", offset: 70, kind: .int16), .init(name: "bitpix", offset: 72, kind: .int16)]
            f += (0..<8).map { .init(name: "pixdim[\($0)]", offset: 76 + 4 * $0, kind: .float32) }
            f += [.init(name: "vox_offset", offset: 108, kind: .float32),
                  .init(name: "scl_slope", offset: 112, kind: .float32), .init(name: "scl_inter", offset: 116, kind: .float32),
                  .init(name: "xyzt_units", offset: 123, kind: .bytes(1)),
                  .init(name: "qform_code", offset: 252, kind: .int16), .init(name: "sform_code", offset: 254, kind: .int16)]
            f += (0..<6).map { .init(name: "quatern/qoffset[\($0)]", offset: 256 + 4 * $0, kind: .float32) }
            f += (0..<12).map { .init(name: "srow[\($0)]", offset: 280 + 4 * $0, kind: .float32) }
            f += [.init(name: "magic", offset: 344, kind: .bytes(4)), .init(name: "extension", offset: 348, kind: .bytes(4))]
            return f
        }
        var f: [NIfTIField] = [.init(name: "sizeof_hdr", offset: 0, kind: .int32), .init(name: "magic", offset: 4, kind: .bytes(8)),
                               .init(name: "datatype", offset: 12, kind: .int16), .init(name: "bitpix", offset: 14, kind: .int16)]
        f += (0..<8).map { .init(name: "dim[\($0)]", offset: 16 + 8 * $0, kind: .int64) }
        f += (0..<8).map { .init(name: "pixdim[\($0)]", offset: 104 + 8 * $0, kind: .float64) }
        f += [.init(name: "vox_offset", offset: 168, kind: .int64),
              .init(name: "scl_slope", offset: 176, kind: .float64), .init(name: "scl_inter", offset: 184, kind: .float64),
              .init(name: "qform_code", offset: 344, kind: .int32), .init(name: "sform_code", offset: 348, kind: .int32)]
        f += (0..<6).map { .init(name: "quatern/qoffset[\($0)]", offset: 352 + 8 * $0, kind: .float64) }
        f += (0..<12).map { .init(name: "srow[\($0)]", offset: 400 + 8 * $0, kind: .float64) }
        f += [.init(name: "xyzt_units", offset: 500, kind: .int32), .init(name: "extension", offset: 540, kind: .bytes(4))]
        return f
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
