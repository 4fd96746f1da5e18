import Foundation
import VolumeCore

/// Reads NIfTI-1 and NIfTI-2 single files (`.nii`, `.nii.gz`) through libnifti.
///
/// Every read first checks the raw header against the file (magic, dims, datatype,
/// `vox_offset`, size, the memory limit) so that a bad file gives one precise error and no
/// large allocation; only then does libnifti read it. Datatypes: see ``NIfTIDatatype``.
/// Byte order: either (libnifti swaps). Geometry: see ``WorldMatrixSource``.
/// Errors are ``NIfTIError``; nothing is printed.
public enum NIfTIReader {
    /// The header only (no voxel data are read).
    public static func readHeader(_ path: String) throws -> NIfTIHeader {
        let probe = try HeaderProbe.probe(path, maxVoxelBytes: Int.max)
        let handle = try openHeader(path, probe)
        return try header(path, probe, handle)
    }

    /// The whole image, every frame, as Float32.
    public static func read(_ path: String, options: NIfTIReadOptions = .init()) throws -> NIfTIImage {
        let probe = try HeaderProbe.probe(path, maxVoxelBytes: options.maxVoxelBytes)
        let hdr = try header(path, probe, try openHeader(path, probe))
        let converted = try readVoxels(path, probe, hdr, firstFrame: 0, frames: hdr.frameCount, options)
        let (voxels, replaced) = try applyNonFinitePolicy(converted, options.nonFinite, path)
        return NIfTIImage(header: hdr, grid: hdr.grid, frameCount: hdr.frameCount, voxels: voxels,
                          nonFiniteReplaced: replaced)
    }

    /// One frame (default the first) as a 3D volume; only that frame's voxels are kept.
    public static func readVolume(_ path: String, frame: Int = 0, options: NIfTIReadOptions = .init()) throws -> Volume {
        let probe = try HeaderProbe.probe(path, maxVoxelBytes: options.maxVoxelBytes, frames: 1)
        let hdr = try header(path, probe, try openHeader(path, probe))
        guard frame >= 0 && frame < hdr.frameCount else {
            throw NIfTIError(path: path, kind: .frameOutOfRange,
                             detail: "frame \(frame) was asked for but the image has \(hdr.frameCount) frame\(hdr.frameCount == 1 ? "" : "s")")
        }
        let converted = try readVoxels(path, probe, hdr, firstFrame: frame, frames: 1, options)
        let (voxels, _) = try applyNonFinitePolicy(converted, options.nonFinite, path)
        return Volume(grid: hdr.grid, voxels: voxels)
    }

    // MARK: - Steps

    private static func openHeader(_ path: String, _ probe: HeaderProbe) throws -> NIfTIHandle {
        guard let handle = NIfTIHandle.readHeader(path) else {
            // The probe accepted the header, so libnifti's refusal is unexpected: say so plainly.
            throw NIfTIError(path: path, kind: .notNIfTI, detail: "libnifti rejected the header although its basic fields look valid")
        }
        // libnifti and the probe must agree on what they read.
        let d = handle.dim
        let dims = (1...4).map { $0 <= d[0] ? d[$0] : 1 }
        guard dims == probe.dims, handle.datatypeCode == probe.datatype.code, handle.ioffset == probe.voxOffset else {
            throw NIfTIError(path: path, kind: .notNIfTI,
                             detail: "libnifti read the header differently (dims \(dims), datatype \(handle.datatypeCode), offset \(handle.ioffset))")
        }
        return handle
    }

    private static func header(_ path: String, _ probe: HeaderProbe, _ h: NIfTIHandle) throws -> NIfTIHeader {
        let pixdim = probe.pixdim
        let sformCode = h.sformCode, qformCode = h.qformCode
        let sform: Affine? = sformCode > 0 ? h.sform : nil
        let qform: Affine? = qformCode > 0 ? h.qform : nil
        let gridDims = SIMD3(probe.dims[0], probe.dims[1], probe.dims[2])
        let source: WorldMatrixSource, matrix: Affine
        if let s = sform {
            (source, matrix) = (.sform(code: sformCode), s)
        } else if let q = qform {
            (source, matrix) = (.qform(code: qformCode), q)
        } else {
            (source, matrix) = (.pixdim, NIfTIHeader.pixdimFallback(dims: gridDims, pixdim: pixdim))
        }
        guard matrix.isFinite, matrix.inverse != nil else {
            throw NIfTIError(path: path, kind: .singularGeometry,
                             detail: "the voxel-to-world matrix from the \(source) is singular or not finite: \(matrix.rowMajor4x4.prefix(12).map { String($0) }.joined(separator: " "))")
        }
        var disagree = false
        if let s = sform, let q = qform {
            disagree = !q.isFinite || NIfTIHeader.cornerDisagreementMM(s, q, dims: gridDims) > NIfTIHeader.disagreementToleranceMM
        }
        return NIfTIHeader(
            path: path, version: probe.version, compressed: probe.compressed, dims: probe.dims,
            datatype: probe.datatype, pixdim: pixdim, sclSlope: h.sclSlope, sclInter: h.sclInter,
            sformCode: sformCode, qformCode: qformCode, sform: sform, qform: qform,
            matrixSource: source, voxelToWorld: matrix, sformQformDisagree: disagree,
            bigEndian: probe.bigEndian, description: h.descrip)
    }

    /// Reads `frames` frames from `firstFrame` with znzlib and converts them to Float32.
    ///
    /// Not `nifti_image_load`: libnifti's `nifti_read_buffer` silently replaces NaN/Inf
    /// float voxels with 0, which would hide them from ``NonFinitePolicy/reject``, and it
    /// stops before the gzip trailer, so damaged data would go unnoticed. znzlib is
    /// libnifti's own (gzip-transparent) file layer.
    private static func readVoxels(_ path: String, _ probe: HeaderProbe, _ hdr: NIfTIHeader, firstFrame: Int,
                                   frames: Int, _ options: NIfTIReadOptions) throws -> [Float] {
        let voxelsPerFrame = hdr.grid.voxelCount
        let frameBytes = voxelsPerFrame * hdr.datatype.bytesPerVoxel
        let count = frameBytes * frames
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        defer { buffer.deallocate() }
        let block = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
        let result = ZNZ.readBlock(path, gzip: probe.openWithGzip, offset: probe.voxOffset + firstFrame * frameBytes,
                                   into: block, drain: probe.compressed && options.verifyGzipChecksum)
        switch result {
        case .ok:
            return convert(UnsafeRawPointer(buffer.baseAddress!), count: voxelsPerFrame * frames, hdr)
        case .cannotOpen:
            throw NIfTIError(path: path, kind: .unreadable, detail: "cannot open the file to read the voxel data")
        case .corrupt:
            throw NIfTIError(path: path, kind: .corruptCompression, detail: "the gzip data are damaged (zlib data or checksum error)")
        case .short(let n):
            let kind = probe.compressed
                ? HeaderProbe.shortGzipKind(isize: probe.gzipISIZE, voxOffset: probe.voxOffset, dataBytes: probe.dataBytes)
                : .truncated
            if kind == .corruptCompression {
                throw NIfTIError(path: path, kind: kind,
                                 detail: "the gzip data end \(count - n) bytes early although the gzip trailer records the full size (damaged data)")
            }
            throw NIfTIError(path: path, kind: .truncated,
                             detail: "the file ends \(count - n) bytes before the end of the voxel data (\(probe.dataBytes) bytes from offset \(probe.voxOffset))")
        }
    }

    /// Stored values (file byte order) → Float32 with scl_slope/inter (computed in Double).
    private static func convert(_ raw: UnsafeRawPointer, count n: Int, _ hdr: NIfTIHeader) -> [Float] {
        let slope = hdr.sclSlope, inter = hdr.sclInter
        let scaled = slope != 0 && slope.isFinite
        let a = scaled ? slope : 1, b = scaled && inter.isFinite ? inter : 0
        let identity = a == 1 && b == 0
        let swap = hdr.bigEndian != (1.bigEndian == 1)
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            // U: the unsigned integer of the stored width; `value` reinterprets its bits.
            func run<U: FixedWidthInteger>(_ type: U.Type, _ value: (U) -> Double) {
                let p = raw.bindMemory(to: U.self, capacity: n)
                for v in 0..<n {
                    let bits = swap ? p[v].byteSwapped : p[v]
                    out[v] = identity ? Float(value(bits)) : Float(a * value(bits) + b)
                }
            }
            switch hdr.datatype {
            case .uint8: run(UInt8.self) { Double($0) }
            case .int8: run(UInt8.self) { Double(Int8(bitPattern: $0)) }
            case .int16: run(UInt16.self) { Double(Int16(bitPattern: $0)) }
            case .uint16: run(UInt16.self) { Double($0) }
            case .int32: run(UInt32.self) { Double(Int32(bitPattern: $0)) }
            case .uint32: run(UInt32.self) { Double($0) }
            case .float32: run(UInt32.self) { Double(Float(bitPattern: $0)) }
            case .float64: run(UInt64.self) { Double(bitPattern: $0) }
            }
            initialized = n
        }
    }

    private static func applyNonFinitePolicy(_ v: [Float], _ policy: NonFinitePolicy, _ path: String) throws -> ([Float], Int) {
        var bad = 0
        for x in v where !x.isFinite { bad += 1 }
        guard bad > 0 else { return (v, 0) }
        switch policy {
        case .reject:
            throw NIfTIError(path: path, kind: .nonFiniteVoxels,
                             detail: "\(bad) of \(v.count) voxels are NaN or infinite (after scaling)")
        case .replaceWithZero:
            var out = v
            for n in out.indices where !out[n].isFinite { out[n] = 0 }
            return (out, bad)
        }
    }
}
