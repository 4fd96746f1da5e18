import Foundation
import VolumeCore

/// Writes volumes as NIfTI-1 single files (`.nii`, or gzip when the name ends in `.nii.gz`).
///
/// **Bytes.** libnifti builds the 352-byte header (``LibNIfTIWrite/headerBytes(dims:datatype:voxelToWorld:sformCode:description:)``);
/// the voxels follow in native byte order: the same bytes `nifti_image_write` writes. A
/// `.nii.gz` is one gzip member compressed in 1 MiB chunks on `threads` threads
/// (``ParallelGzip``: zlib level 1, run-length strategy); its bytes do not depend on `threads`.
///
/// **Geometry.** The volume's `voxelToWorld` (voxel centres → RAS+ mm) is written as the
/// sform (code `sformCode`, default 2 = aligned anatomy) *and* as the qform (code 1 =
/// scanner), which is the nearest rotation · diag(pixdim) with `qfac` = ±1 for the
/// handedness (libnifti's `nifti_dmat44_to_quatern`). pixdim = the matrix's column norms,
/// `xyzt_units` = mm. A matrix with shear cannot be represented by a qform: the sform is
/// authoritative, and a reader will see the two disagree (``NIfTIHeader/sformQformDisagree``).
///
/// **Values.** float32/float64 are written as they are (NaN included). Integer types round to
/// nearest (ties away from zero); a value outside the type's range, or NaN/Inf, throws
/// `.valueOutOfRange` — nothing is clipped. `scl_slope` = 1, `scl_inter` = 0.
///
/// **Safety.** The file is written under a temporary name in the destination's folder (every
/// `write`, the `fsync` and the `close` checked), its header re-read by libnifti and checked
/// with its size, then renamed into place. A path equal to one of `protectedInputs` is refused.
public enum NIfTIWriter {
    /// Writes one 3D volume.
    public static func write(_ volume: Volume, to path: String, datatype: NIfTIDatatype = .float32,
                             description: String = "stnreg", protectedInputs: [String] = [],
                             sformCode: Int = 2, threads: Int = ThreadPolicy.defaultThreadCount) throws {
        try write(frames: [volume], to: path, datatype: datatype, description: description,
                  protectedInputs: protectedInputs, sformCode: sformCode, threads: threads)
    }

    /// Writes a 4D image: `frames` (at least one, all on the same grid) along dim 4.
    /// A single frame is written as a 3D image. `threads` compress a `.nii.gz` (the bytes are
    /// the same for every count).
    public static func write(frames: [Volume], to path: String, datatype: NIfTIDatatype = .float32,
                             description: String = "stnreg", protectedInputs: [String] = [],
                             sformCode: Int = 2, threads: Int = ThreadPolicy.defaultThreadCount) throws {
        try write(frames: frames, to: path, datatype: datatype, description: description,
                  protectedInputs: protectedInputs, sformCode: sformCode, engine: .ownWriter(threads: max(1, threads)))
    }

    /// The previous writer (`nifti_image_write` through znzlib, one thread, the whole stream
    /// decompressed again to check it), kept for `stnbench io` to compare with in one run.
    public static func _writeWithLibnifti(_ volume: Volume, to path: String, datatype: NIfTIDatatype = .float32) throws {
        try write(frames: [volume], to: path, datatype: datatype, description: "stnreg", protectedInputs: [],
                  sformCode: 2, engine: .libnifti)
    }

    enum Engine {
        /// Header from libnifti, bytes written here; gzip by ``ParallelGzip``.
        case ownWriter(threads: Int)
        /// `nifti_image_write` (the reference the tests compare bytes with).
        case libnifti
    }

    static func write(frames: [Volume], to path: String, datatype: NIfTIDatatype, description: String,
                      protectedInputs: [String], sformCode: Int, engine: Engine) throws {
        precondition(!frames.isEmpty, "write(frames:) needs at least one frame")
        let grid = frames[0].grid
        precondition(frames.allSatisfy { $0.grid == grid }, "all frames must share one grid")
        precondition((1...5).contains(sformCode), "sformCode must be a NIFTI_XFORM code from 1 to 5")

        guard path.hasSuffix(".nii") || path.hasSuffix(".nii.gz") else {
            throw NIfTIError(path: path, kind: .unsupportedFormat, detail: "the output name does not end in .nii or .nii.gz",
                             advice: "Name the output .nii or .nii.gz")
        }
        let target = AtomicFile.canonical(path)
        if protectedInputs.contains(where: { AtomicFile.canonical($0) == target }) {
            throw NIfTIError(path: path, kind: .wouldOverwriteInput, detail: "this output path is also an input file")
        }
        let dims = [grid.dims.x, grid.dims.y, grid.dims.z, frames.count]
        if let big = dims.first(where: { $0 > Int(Int16.max) }) {
            throw NIfTIError(path: path, kind: .writeFailed, detail: "a dimension of \(big) exceeds NIfTI-1's limit of 32767",
                             advice: "Crop or split the image")
        }
        guard grid.voxelToWorld.isFinite, grid.voxelToWorld.inverse != nil else {
            throw NIfTIError(path: path, kind: .singularGeometry, detail: "the volume's voxel-to-world matrix is singular or not finite")
        }
        if let range = datatype.integerRange { try checkRange(frames, range, datatype, path) }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw NIfTIError(path: path, kind: .writeFailed, detail: "the folder \(folder) does not exist",
                             advice: "Create the folder first")
        }

        let gz = path.hasSuffix(".gz")
        do {
            try AtomicFile.withTemporary(for: path) { tmp in
                // libnifti (which reads the header back) chooses compression from the name:
                // give the file a proper extension.
                let named = tmp + (gz ? ".nii.gz" : ".nii")
                defer { unlink(named) }
                switch engine {
                case .ownWriter(let threads):
                    let header: [UInt8]
                    do {
                        header = try LibNIfTIWrite.headerBytes(dims: dims, datatype: datatype, voxelToWorld: grid.voxelToWorld,
                                                               sformCode: sformCode, description: description)
                    } catch let e as NIfTIError {
                        throw NIfTIError(path: path, kind: e.kind, detail: e.detail)
                    }
                    let written = try writeFile(named, reportAs: path, header: header, frames: frames, datatype: datatype,
                                                gzip: gz, threads: threads)
                    try verify(named, reportAs: path, dims: dims, datatype: datatype, geometry: grid.voxelToWorld,
                               written: written)
                case .libnifti:
                    try LibNIfTIWrite.write(path: named, dims: dims, datatype: datatype, voxelToWorld: grid.voxelToWorld,
                                            sformCode: sformCode, description: description) { buffer in
                        encode(frames, datatype, voxels: 0..<(dims.reduce(1, *)), into: buffer.baseAddress!)
                    }
                    try verify(named, reportAs: path, dims: dims, datatype: datatype, geometry: grid.voxelToWorld, written: nil)
                    try sync(named, reportAs: path)
                }
                guard rename(named, tmp) == 0 else {
                    throw NIfTIError(path: path, kind: .writeFailed, detail: "cannot rename the temporary file (\(String(cString: strerror(errno))))")
                }
            }
        } catch let e as AtomicFile.WriteError {
            throw NIfTIError(path: path, kind: .writeFailed, detail: e.reason)
        }
    }

    /// Header and voxels in one buffer, encoded chunk by chunk on the workers that compress
    /// them (one pass while the chunk is in cache), written to the new file `file`. Returns
    /// the file's size.
    private static func writeFile(_ file: String, reportAs path: String, header: [UInt8], frames: [Volume],
                                  datatype: NIfTIDatatype, gzip: Bool, threads: Int) throws -> Int {
        let bpv = datatype.bytesPerVoxel
        let voxelCount = frames.count * frames[0].voxels.count
        let total = header.count + voxelCount * bpv
        precondition(header.count % 8 == 0 && ParallelGzip.chunkBytes % 8 == 0, "chunks must start on voxel boundaries")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 16)
        defer { buffer.deallocate() }
        let voxelBase = buffer.baseAddress! + header.count
        func fill(_ range: Range<Int>) {
            let headerPart = range.clamped(to: 0..<header.count)
            if !headerPart.isEmpty {
                header.withUnsafeBytes { h in
                    (buffer.baseAddress! + headerPart.lowerBound).copyMemory(from: h.baseAddress! + headerPart.lowerBound, byteCount: headerPart.count)
                }
            }
            let voxelPart = range.clamped(to: header.count..<total)
            guard !voxelPart.isEmpty else { return }
            let v = ((voxelPart.lowerBound - header.count) / bpv)..<((voxelPart.upperBound - header.count) / bpv)
            encode(frames, datatype, voxels: v, into: voxelBase)
        }
        do {
            if gzip {
                let member = try ParallelGzip.compress(buffer, threads: threads, fill: fill)
                return try RawFile.create(file) { put in try member.forEachPiece(put) }
            }
            let chunks = (total + ParallelGzip.chunkBytes - 1) / ParallelGzip.chunkBytes
            parallelChunks(chunks, threads: threads) { c in
                fill((c * ParallelGzip.chunkBytes)..<min(total, (c + 1) * ParallelGzip.chunkBytes))
            }
            return try RawFile.create(file) { put in try put(UnsafeRawBufferPointer(buffer)) }
        } catch let e as ParallelGzip.Failure {
            throw NIfTIError(path: path, kind: .writeFailed, detail: e.reason)
        }
    }

    // MARK: - Steps

    private static func checkRange(_ frames: [Volume], _ range: ClosedRange<Double>, _ t: NIfTIDatatype, _ path: String) throws {
        var bad = 0
        var lo = Float.infinity, hi = -Float.infinity
        for f in frames {
            for v in f.voxels {
                let r = Double(v).rounded(.toNearestOrAwayFromZero)
                if !(r >= range.lowerBound && r <= range.upperBound) {   // NaN fails too
                    bad += 1
                    if v.isFinite { lo = min(lo, v); hi = max(hi, v) }
                }
            }
        }
        guard bad > 0 else { return }
        let span = lo <= hi ? " (offending values from \(lo) to \(hi))" : ""
        throw NIfTIError(path: path, kind: .valueOutOfRange,
                         detail: "\(bad) voxels cannot be stored as \(t.rawValue) (range \(Int(range.lowerBound))...\(Int(range.upperBound)), or NaN/Inf)\(span)")
    }

    /// Native-order bytes of the voxels `voxels` (indices over all frames, frame after frame)
    /// in the datatype, written from `out` + `voxels.lowerBound` · bytes per voxel (range already
    /// checked). Disjoint index ranges may be encoded concurrently.
    private static func encode(_ frames: [Volume], _ t: NIfTIDatatype, voxels: Range<Int>, into out: UnsafeMutableRawPointer) {
        let n = frames[0].voxels.count
        func run<T>(_ type: T.Type, _ make: (Float) -> T) {
            let dst = out.assumingMemoryBound(to: T.self)
            var g = voxels.lowerBound
            while g < voxels.upperBound {
                let f = g / n, lo = g % n
                let hi = min(n, lo + (voxels.upperBound - g))
                frames[f].voxels.withUnsafeBufferPointer { src in
                    let d = dst + g
                    for v in lo..<hi { d[v - lo] = make(src[v]) }
                }
                g += hi - lo
            }
        }
        func rounded(_ x: Float) -> Double { Double(x).rounded(.toNearestOrAwayFromZero) }
        switch t {
        case .uint8: run(UInt8.self) { UInt8(rounded($0)) }
        case .int8: run(Int8.self) { Int8(rounded($0)) }
        case .int16: run(Int16.self) { Int16(rounded($0)) }
        case .uint16: run(UInt16.self) { UInt16(rounded($0)) }
        case .int32: run(Int32.self) { Int32(rounded($0)) }
        case .uint32: run(UInt32.self) { UInt32(rounded($0)) }
        case .float32: run(Float.self) { $0 }
        case .float64: run(Double.self) { Double($0) }
        }
    }

    /// Re-reads the written file's header and checks its size. With `written` (the bytes this
    /// writer wrote, every call checked) the file must have that size and the header must
    /// account for the whole payload; without (libnifti, which reports no failed writes) the
    /// whole gzip stream is decompressed to count its bytes.
    private static func verify(_ file: String, reportAs path: String, dims: [Int], datatype: NIfTIDatatype, geometry: Affine,
                               written: Int?) throws {
        func fail(_ why: String) -> NIfTIError {
            NIfTIError(path: path, kind: .writeFailed, detail: "the written file failed verification: \(why)")
        }
        guard FileManager.default.fileExists(atPath: file) else { throw fail("libnifti did not create it") }
        let probe: HeaderProbe
        do { probe = try HeaderProbe.probe(file, maxVoxelBytes: Int.max) } catch let e as NIfTIError {
            throw fail("\(e.kind): \(e.detail)")
        }
        guard probe.version == 1, probe.dims == dims, probe.datatype == datatype else {
            throw fail("header says NIfTI-\(probe.version) \(probe.dims) \(probe.datatype.rawValue)")
        }
        let need = probe.voxOffset + probe.dataBytes
        if let written {
            guard probe.fileSize == written else { throw fail("it has \(probe.fileSize) bytes, \(written) were written") }
            let payload = 352 + dims.reduce(1, *) * datatype.bytesPerVoxel
            guard need == payload, probe.compressed || written == need else {
                throw fail("the header describes \(need) bytes, \(payload) were written")
            }
        } else if probe.compressed {
            guard case .some(.some(let n)) = ZNZ.streamLength(file, gzip: true), n == need else {
                throw fail("the gzip stream is not \(need) bytes long")
            }
        } else {
            guard probe.fileSize == need else { throw fail("it has \(probe.fileSize) bytes, expected \(need)") }
        }
        guard let handle = NIfTIHandle.readHeader(file) else { throw fail("libnifti cannot read it back") }
        // sform stored as float32: compare to float precision relative to the entries.
        let scale = max(1, geometry.rowMajor4x4.map(abs).max() ?? 1)
        guard handle.sformCode > 0, Affine.maxAbsDifference(handle.sform, geometry) <= 1e-6 * scale else {
            throw fail("the sform read back differs from the volume's matrix")
        }
    }

    private static func sync(_ file: String, reportAs path: String) throws {
        guard let h = FileHandle(forUpdatingAtPath: file) else {
            throw NIfTIError(path: path, kind: .writeFailed, detail: "cannot reopen the written file to flush it")
        }
        defer { try? h.close() }
        do { try h.synchronize() } catch {
            throw NIfTIError(path: path, kind: .writeFailed, detail: "flushing the file failed (\(error.localizedDescription))")
        }
    }
}
