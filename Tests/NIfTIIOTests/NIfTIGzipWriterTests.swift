import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import NIfTIIO

/// The `.nii.gz` writer (header from libnifti, one gzip member compressed in chunks on several
/// threads, ``ParallelGzip``): the same bytes for every thread count, the same decompressed
/// bytes as libnifti's own `nifti_image_write`, and read back by libnifti, our reader, nibabel,
/// SimpleITK, Python's zlib and GNU gzip. (FSL reads NIfTI through the same niftiio/znzlib as
/// libnifti.) CI installs nibabel and SimpleITK; when they are missing the reader test FAILS.
struct NIfTIGzipWriterTests {
    let dir = makeTemporaryDirectory("nifti-gzip")

    /// Odd dims so that chunk boundaries (every 1 MiB) fall inside rows; as Float32 3.25 MB,
    /// i.e. four chunks; fractional values like a trilinear warp's, background runs of 0.
    static func warpedLike(_ dims: SIMD3<Int> = SIMD3(101, 97, 83), seed: UInt64 = 7) -> Volume {
        var rng = SeededGenerator(seed: seed)
        let grid = Grid(dims: dims, voxelToWorld: obliqueMirrored)
        var v = Phantom.blobs(grid: grid)
        for n in v.voxels.indices where v.voxels[n] != 0 { v.voxels[n] = v.voxels[n] * 200 + Float.random(in: 0..<1, using: &rng) }
        return v
    }

    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// The decompressed stream of a file (the whole of it; `count` is an upper bound).
    func decompressed(_ path: String, count: Int) throws -> [UInt8] {
        guard case .bytes(let b) = ZNZ.readPrefix(path, count: count, gzip: path.hasSuffix(".gz")) else {
            Issue.record("znzlib cannot decompress \(path)")
            return []
        }
        return b
    }

    @Test("identical bytes on 1, 2 and 3 threads; one gzip member whose payload is libnifti's own file",
          arguments: [(NIfTIDatatype.float32, 1), (.float64, 1), (.int16, 3), (.uint8, 3)])
    func deterministicAndAsLibnifti(_ t: NIfTIDatatype, frames: Int) throws {
        var v = NIfTIGzipWriterTests.warpedLike()
        if t.isInteger { v.voxels = v.voxels.map { min($0.rounded(), 255) } }
        let list = Array(repeating: v, count: frames)
        var files: [[UInt8]] = []
        for threads in [1, 2, 3] {
            let p = dir + "/t\(threads)-\(t.rawValue).nii.gz"
            try NIfTIWriter.write(frames: list, to: p, datatype: t, threads: threads)
            files.append(try bytes(p))
        }
        #expect(files[0] == files[1] && files[1] == files[2], "bytes differ between thread counts")
        let payload = 352 + v.voxels.count * frames * t.bytesPerVoxel
        #expect(payload > 2 * ParallelGzip.chunkBytes, "the test volume must span several chunks")

        // The reference: libnifti's nifti_image_write (gzip through znzlib) and a plain .nii of ours.
        let ref = dir + "/ref-\(t.rawValue).nii.gz"
        if frames == 1 { try NIfTIWriter._writeWithLibnifti(v, to: ref, datatype: t) }
        else {
            try NIfTIWriter.write(frames: list, to: ref, datatype: t, description: "stnreg", protectedInputs: [], sformCode: 2, engine: .libnifti)
        }
        let ours = try decompressed(dir + "/t2-\(t.rawValue).nii.gz", count: payload + 1)
        #expect(ours.count == payload)
        #expect(ours == (try decompressed(ref, count: payload + 1)), "decompressed bytes differ from nifti_image_write's")
        let plain = dir + "/plain-\(t.rawValue).nii"
        try NIfTIWriter.write(frames: list, to: plain, datatype: t, threads: 2)
        #expect(try bytes(plain) == ours, ".nii differs from the .nii.gz's payload")
    }

    @Test("ParallelGzip: payloads around chunk boundaries decompress to themselves")
    func chunkBoundaries() throws {
        let c = ParallelGzip.chunkBytes
        for count in [1, 8, c - 8, c, c + 8, 3 * c + 352] {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
            defer { buffer.deallocate() }
            // Runs and noise, produced by the fill callback as the writer does.
            let member = try ParallelGzip.compress(buffer, threads: 2) { range in
                for i in range { buffer[i] = i % 4096 < 1024 ? 0 : UInt8(truncatingIfNeeded: (i * 2654435761) >> 13) }
            }
            let p = dir + "/raw-\(count).gz"
            try member.bytes.withUnsafeBytes { b in try Data(b).write(to: URL(fileURLWithPath: p)) }
            #expect(try decompressed(p, count: count + 1) == Array(buffer), "\(count) bytes")
        }
    }

    struct ReaderReport: Decodable {
        var path: String
        var nibabel_shape: [Int]
        var nibabel_dtype: String
        var nibabel_affine: [[Double]]
        var nibabel_sum: Double
        var nibabel_first_values: [Double]
        var sitk_size: [Int]
        var sitk_sum: Double
        var sitk_spacing: [Double]
        var gzip_members: Int
        var gzip_bytes: Int
        var gzip_tool_ok: Bool
    }

    @Test("libnifti, our reader, nibabel, SimpleITK, zlib and gzip read the parallel .nii.gz")
    func independentReaders() throws {
        let v = NIfTIGzipWriterTests.warpedLike()
        let f32 = dir + "/warped.nii.gz", i16 = dir + "/labels4d.nii.gz"
        try NIfTIWriter.write(v, to: f32, datatype: .float32, threads: 2)
        let labels = Volume(grid: v.grid, voxels: v.voxels.map { ($0 / 10).rounded() })
        try NIfTIWriter.write(frames: [labels, labels, labels], to: i16, datatype: .int16, threads: 2)
        let sum = v.voxels.reduce(0.0) { $0 + Double($1) }
        let labelSum = 3 * labels.voxels.reduce(0.0) { $0 + Double($1) }

        // libnifti reads header and data (nifti_image_read(path, 1)).
        let lib = NIfTIHandle.libniftiReadAll(f32, count: v.voxels.count)
        #expect(lib == v.voxels)
        #expect(try NIfTIReader.read(f32).voxels == v.voxels)
        #expect(try NIfTIReader.read(i16).voxels == labels.voxels + labels.voxels + labels.voxels)

        guard let reports = try NIfTIGzipWriterTests.readers([f32, i16]) else { return }
        #expect(reports.count == 2)
        for r in reports {
            let four = r.path == i16
            let expectSum = four ? labelSum : sum
            let d = v.grid.dims
            #expect(r.nibabel_shape == (four ? [d.x, d.y, d.z, 3] : [d.x, d.y, d.z]), "\(r.path)")
            #expect(r.nibabel_dtype == (four ? "int16" : "float32"))
            #expect(abs(r.nibabel_sum - expectSum) <= Tolerance.float64Sum * expectSum, "nibabel sum \(r.nibabel_sum) vs \(expectSum)")
            #expect(abs(r.sitk_sum - expectSum) <= Tolerance.float64Sum * expectSum, "SimpleITK sum \(r.sitk_sum) vs \(expectSum)")
            #expect(Array(r.sitk_size.prefix(3)) == [d.x, d.y, d.z], "\(r.path)")
            let ours = v.grid.voxelToWorld.rows4x4
            let worst = zip(ours.joined(), r.nibabel_affine.joined()).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < Tolerance.float32HeaderMatrix, "nibabel affine \(r.nibabel_affine) vs \(ours)")
            #expect(r.gzip_members == 1, "\(r.path): \(r.gzip_members) gzip members")
            #expect(r.gzip_bytes == 352 + (four ? 3 * 2 : 4) * v.voxels.count)
            #expect(r.gzip_tool_ok, "gzip -t rejects \(r.path)")
        }
        #expect(reports[0].nibabel_first_values == v.voxels.prefix(8).map(Double.init))
    }

    /// Runs Tests/Scripts/read_written.py; records an issue (and returns nil) when it cannot run.
    static func readers(_ paths: [String]) throws -> [ReaderReport]? {
        let script = NIfTINibabelCrossCheckTests.repoRoot.appendingPathComponent("Tests/Scripts/read_written.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script] + paths
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch {
            Issue.record("cannot run python3 (\(error)); install Python 3 and then: pip install nibabel SimpleITK")
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            Issue.record("read_written.py failed (status \(p.terminationStatus)): \(errText) — if a reader is missing: pip install nibabel SimpleITK")
            return nil
        }
        return try JSONDecoder().decode([ReaderReport].self, from: data)
    }
}
