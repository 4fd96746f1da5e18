internal import CNIfTI
import Foundation
import VolumeCore

// The only file that calls libnifti (and znzlib, its zlib wrapper). Each C entry point is
// wrapped once here; raw pointers do not leave this file except inside `NIfTIHandle`.

/// Silences libnifti once per process: with the default debug level it prints to stderr.
/// (libnifti never aborts or exits on bad input; it returns NULL / -1.)
private let libniftiQuiet: Void = { nifti_set_debug_level(0) }()

func ensureLibniftiQuiet() { _ = libniftiQuiet }

/// Owns one `nifti_image*` and frees it (and its malloc'd data) in `deinit`.
final class NIfTIHandle {
    let nim: UnsafeMutablePointer<nifti_image>

    init(_ nim: UnsafeMutablePointer<nifti_image>) { self.nim = nim }
    deinit { nifti_image_free(nim) }

    /// `nifti_image_read(path, 0)`: header (and extensions) only, no voxel data.
    static func readHeader(_ path: String) -> NIfTIHandle? {
        ensureLibniftiQuiet()
        guard let p = nifti_image_read(path, 0) else { return nil }
        return NIfTIHandle(p)
    }

    /// For tests of libnifti's own behaviour: `nifti_image_read(path, 1)` (header and data).
    /// Returns nil when libnifti returns NULL, else the first `count` voxels as stored (float32
    /// data only; empty otherwise).
    static func libniftiReadAll(_ path: String, count: Int) -> [Float]? {
        ensureLibniftiQuiet()
        guard let p = nifti_image_read(path, 1) else { return nil }
        let h = NIfTIHandle(p)
        guard h.datatypeCode == 16, let d = p.pointee.data else { return [] }
        let f = d.bindMemory(to: Float.self, capacity: count)
        return (0..<min(count, Int(p.pointee.nvox))).map { f[$0] }
    }

    var version: Int { (nim.pointee.nifti_type == 4 || nim.pointee.nifti_type == 5) ? 2 : 1 }
    var bigEndian: Bool { nim.pointee.byteorder == 2 /* MSB_FIRST */ }
    var datatypeCode: Int32 { Int32(nim.pointee.datatype) }
    var dim: [Int] { withUnsafeBytes(of: nim.pointee.dim) { Array($0.bindMemory(to: Int64.self)).map { Int($0) } } }
    var pixdim: [Double] { withUnsafeBytes(of: nim.pointee.pixdim) { Array($0.bindMemory(to: Double.self)) } }
    var sclSlope: Double { nim.pointee.scl_slope }
    var sclInter: Double { nim.pointee.scl_inter }
    var sformCode: Int { Int(nim.pointee.sform_code) }
    var qformCode: Int { Int(nim.pointee.qform_code) }
    var ioffset: Int { Int(nim.pointee.iname_offset) }
    var sform: Affine { NIfTIHandle.affine(nim.pointee.sto_xyz) }
    var qform: Affine { NIfTIHandle.affine(nim.pointee.qto_xyz) }
    var descrip: String {
        withUnsafeBytes(of: nim.pointee.descrip) { raw in
            let bytes = raw.prefix(while: { $0 != 0 })
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static func affine(_ m: nifti_dmat44) -> Affine {
        let r = withUnsafeBytes(of: m.m) { Array($0.bindMemory(to: Double.self)) }
        return Affine(rowMajor3x4: Array(r[0..<12]))
    }
}

/// znzlib access to the (possibly gzip-compressed) byte stream of a file.
enum ZNZ {
    enum ReadResult {
        case bytes([UInt8])
        /// zlib reported a data error (bad deflate data or checksum).
        case corrupt
        case cannotOpen
    }

    /// Up to `count` bytes from the start of the (decompressed) stream.
    static func readPrefix(_ path: String, count: Int, gzip: Bool) -> ReadResult {
        guard let f = znzopen(path, "rb", gzip ? 1 : 0) else { return .cannotOpen }
        var file: znzFile? = f
        defer { Xznzclose(&file) }
        var buf = [UInt8](repeating: 0, count: count)
        let n = buf.withUnsafeMutableBytes { znzread($0.baseAddress, 1, count, f) }
        if n < 0 || n > count { return .corrupt }   // (size_t)-1 imports as -1: zlib error
        if n < count && gzip && endsInError(f) { return .corrupt }
        return .bytes(Array(buf.prefix(n)))
    }

    /// After a short read: gzread returns the bytes it decoded before a data error and
    /// reports the error (-1) only on the next call; at a plain end of file (a cut stream)
    /// the next call returns 0.
    private static func endsInError(_ f: znzFile) -> Bool {
        var byte: UInt8 = 0
        return znzread(&byte, 1, 1, f) < 0
    }

    enum BlockResult {
        case ok
        /// The stream ended after this many bytes of the block.
        case short(Int)
        case corrupt
        case cannotOpen
    }

    /// Reads `buffer.count` bytes starting at `offset` of the (decompressed) stream into
    /// `buffer`. With `drain`, keeps decompressing to the end of the stream afterwards so that
    /// zlib checks the gzip CRC (damaged data → `.corrupt`).
    static func readBlock(_ path: String, gzip: Bool, offset: Int, into buffer: UnsafeMutableRawBufferPointer,
                          drain: Bool) -> BlockResult {
        guard let f = znzopen(path, "rb", gzip ? 1 : 0) else { return .cannotOpen }
        var file: znzFile? = f
        defer { Xznzclose(&file) }
        if offset > 0 {
            // fseek returns 0, gzseek the new offset; both return -1 on failure.
            if znzseek(f, off_t(offset), SEEK_SET) < 0 { return gzip ? .corrupt : .short(0) }
        }
        // Read in chunks (znzread takes a size_t, gzread an unsigned int).
        var done = 0
        let chunk = 1 << 26
        while done < buffer.count {
            let want = min(chunk, buffer.count - done)
            let n = znzread(buffer.baseAddress! + done, 1, want, f)
            if n < 0 || n > want { return .corrupt }   // (size_t)-1 imports as -1: zlib error
            done += n
            if n < want { return gzip && endsInError(f) ? .corrupt : .short(done) }
        }
        if drain {
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { scratch.deallocate() }
            while true {
                let n = znzread(scratch, 1, 1 << 20, f)
                if n < 0 || n > 1 << 20 { return .corrupt }
                if n < 1 << 20 { if endsInError(f) { return .corrupt } else { break } }
            }
        }
        return .ok
    }

    /// Decompresses the whole stream (checking the gzip CRC at its end): the number of
    /// bytes, or `nil` when zlib reports damaged data.
    static func streamLength(_ path: String, gzip: Bool) -> Int?? {
        guard let f = znzopen(path, "rb", gzip ? 1 : 0) else { return .some(nil) }
        var file: znzFile? = f
        defer { Xznzclose(&file) }
        let chunk = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buf.deallocate() }
        var total = 0
        while true {
            let n = znzread(buf, 1, chunk, f)
            if n < 0 || n > chunk { return .some(nil) }
            total += n
            if n < chunk { return gzip && endsInError(f) ? .some(nil) : total }
        }
    }
}

/// NIfTI-1 headers built by libnifti, and the previous writer that wrote whole files through it.
enum LibNIfTIWrite {
    /// The 352 bytes in front of the voxels of a NIfTI-1 single file (`.nii`, and the
    /// decompressed stream of a `.nii.gz`): the 348-byte header as `nifti_convert_nim2n1hdr`
    /// builds it from the image ``makeImage(dims:datatype:voxelToWorld:sformCode:description:)``
    /// describes (vox_offset 352, native byte order), then the 4-byte extender 0 0 0 0 (no
    /// extensions) — the bytes `nifti_image_write` puts there.
    static func headerBytes(dims: [Int], datatype: NIfTIDatatype, voxelToWorld: Affine,
                            sformCode: Int, description: String) throws -> [UInt8] {
        let handle = try makeImage(dims: dims, datatype: datatype, voxelToWorld: voxelToWorld,
                                   sformCode: sformCode, description: description)
        var hdr = nifti_1_header()
        guard nifti_convert_nim2n1hdr(handle.nim, &hdr) == 0 else {
            throw NIfTIError(path: "", kind: .writeFailed, detail: "libnifti could not build a NIfTI-1 header")
        }
        precondition(MemoryLayout<nifti_1_header>.size == 348, "nifti_1_header is not 348 bytes")
        let bytes = withUnsafeBytes(of: &hdr) { Array($0) } + [0, 0, 0, 0]
        return bytes
    }

    /// A `nifti_image` for `dims` (nx, ny, nz, nt) and `datatype`, without data, with the
    /// geometry: sform = the matrix; qform = its nearest rotation·diag(pixdim) form.
    static func makeImage(dims: [Int], datatype: NIfTIDatatype, voxelToWorld: Affine,
                          sformCode: Int, description: String) throws -> NIfTIHandle {
        ensureLibniftiQuiet()
        let ndim = dims[3] > 1 ? 4 : 3
        var d: [Int64] = [Int64(ndim), Int64(dims[0]), Int64(dims[1]), Int64(dims[2]), Int64(dims[3]), 1, 1, 1]
        // data_fill = 0: no data buffer allocated by libnifti.
        guard let nim = d.withUnsafeMutableBufferPointer({ nifti_make_new_nim($0.baseAddress, datatype.code, 0) }) else {
            throw NIfTIError(path: "", kind: .writeFailed, detail: "libnifti could not create an image header")
        }
        let handle = NIfTIHandle(nim)   // frees nim and its data (with free()) on exit
        var m = nifti_dmat44()
        let rows = voxelToWorld.rowMajor4x4
        withUnsafeMutableBytes(of: &m.m) { raw in
            let p = raw.bindMemory(to: Double.self)
            for n in 0..<16 { p[n] = rows[n] }
        }
        var qb = 0.0, qc = 0.0, qd = 0.0, qx = 0.0, qy = 0.0, qz = 0.0, dx = 0.0, dy = 0.0, dz = 0.0, qfac = 0.0
        nifti_dmat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac)
        let spacing = voxelToWorld.linear
        let norms = [length(spacing.column(0)), length(spacing.column(1)), length(spacing.column(2))]
        nim.pointee.quatern_b = qb; nim.pointee.quatern_c = qc; nim.pointee.quatern_d = qd
        nim.pointee.qoffset_x = qx; nim.pointee.qoffset_y = qy; nim.pointee.qoffset_z = qz
        nim.pointee.qfac = qfac
        nim.pointee.qform_code = 1   // NIFTI_XFORM_SCANNER_ANAT
        nim.pointee.qto_xyz = nifti_quatern_to_dmat44(qb, qc, qd, qx, qy, qz, norms[0], norms[1], norms[2], qfac)
        nim.pointee.sto_xyz = m
        nim.pointee.sform_code = Int32(sformCode)
        nim.pointee.dx = norms[0]; nim.pointee.dy = norms[1]; nim.pointee.dz = norms[2]
        withUnsafeMutableBytes(of: &nim.pointee.pixdim) { raw in
            let p = raw.bindMemory(to: Double.self)
            p[0] = qfac; p[1] = norms[0]; p[2] = norms[1]; p[3] = norms[2]; p[4] = 1
        }
        nim.pointee.dt = 1
        nim.pointee.xyz_units = 2    // NIFTI_UNITS_MM
        nim.pointee.time_units = 0
        nim.pointee.scl_slope = 1
        nim.pointee.scl_inter = 0
        nim.pointee.nifti_type = 1   // NIfTI-1 single file (NIfTI-2 writing is broken in 3.0.1)
        let desc = Array(description.utf8.prefix(79))
        withUnsafeMutableBytes(of: &nim.pointee.descrip) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            for (n, b) in desc.enumerated() { raw[n] = b }
        }
        nim.pointee.iname_offset = 352
        return handle
    }

    /// The previous writer, kept as the reference the tests and `stnbench io` compare with:
    /// lets `fill` write the voxel bytes (native byte order) into a malloc'd buffer and writes
    /// the image to `path` with `nifti_image_write` (through znzlib; gzip when the name ends in
    /// `.gz`). libnifti does not report write errors: the caller must verify the file.
    static func write(path: String, dims: [Int], datatype: NIfTIDatatype, voxelToWorld: Affine,
                      sformCode: Int, description: String,
                      fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let handle = try makeImage(dims: dims, datatype: datatype, voxelToWorld: voxelToWorld,
                                   sformCode: sformCode, description: description)
        let nim = handle.nim
        let bytes = dims.reduce(1, *) * datatype.bytesPerVoxel
        guard let data = malloc(max(bytes, 1)) else {
            throw NIfTIError(path: path, kind: .writeFailed, detail: "out of memory for \(bytes) bytes of voxel data",
                             advice: "Free memory or write a smaller image")
        }
        nim.pointee.data = data
        try fill(UnsafeMutableRawBufferPointer(start: data, count: bytes))
        // File names: malloc'd strings owned (and freed) by the nifti_image.
        free(nim.pointee.fname); free(nim.pointee.iname)
        nim.pointee.fname = strdup(path)
        nim.pointee.iname = strdup(path)
        nim.pointee.iname_offset = 352
        // As nifti_image_write, but for .gz gzip level 1 with zlib's run-length strategy ("R"
        // in the gzopen mode, passed through by znzlib): Float32 voxels have few long matches
        // beyond runs of background, so RLE compresses a 1 mm warped brain (28 MB) 2.6x faster
        // than level 1's default strategy and slightly smaller (18.7 vs 19.0 MB); level 6
        // takes 3x as long for ~10 % smaller files. Any gzip reader decodes it.
        // write_opts 1 = header and data, file closed on return.
        let gz = path.hasSuffix(".gz")
        _ = nifti_image_write_hdr_img2(nim, 1, gz ? "wb1R" : "wb", nil, nil)
        withExtendedLifetime(handle) {}
    }
}
