import Foundation
import Testing
import TestSupport
import VolumeCore
@testable import NIfTIIO

/// Compares our reader with nibabel (run as `python3 Tests/Scripts/nibabel_affines.py …`) on
/// files with odd headers and on the shared real volumes. CI installs nibabel; when python3
/// or nibabel is missing this test FAILS (it is not skipped) and says how to install it.
struct NIfTINibabelCrossCheckTests {
    /// World matrices agree to this (mm, per entry).
    static let affineTolerance = 1e-4

    struct NibabelReport: Decodable {
        var path: String
        var affine: [[Double]]
        var sform_code: Int
        var qform_code: Int
        var shape: [Int]
        var dtype: String
        var big_endian: Bool
        var sizeof_hdr: Int
        var data_sum: Double
        var first_values: [Double]
    }

    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs the script; records an issue (and returns nil) when python3/nibabel are missing.
    static func nibabel(_ paths: [String]) throws -> [NibabelReport]? {
        let script = repoRoot.appendingPathComponent("Tests/Scripts/nibabel_affines.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script] + paths
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch {
            Issue.record("cannot run python3 (\(error)); install Python 3 and then: pip install nibabel")
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 127 {
            Issue.record("python3 was not found on PATH; install Python 3, then: pip install nibabel (\(errText))")
            return nil
        }
        guard p.terminationStatus == 0 else {
            Issue.record("nibabel_affines.py failed (status \(p.terminationStatus)): \(errText) — if nibabel is missing: pip install nibabel")
            return nil
        }
        return try JSONDecoder().decode([NibabelReport].self, from: data)
    }

    /// The odd headers: name → builder.
    static func oddFiles() -> [(String, NIfTIFileBuilder)] {
        var files: [(String, NIfTIFileBuilder)] = []
        func add(_ name: String, _ configure: (inout NIfTIFileBuilder) -> Void) {
            var b = NIfTIFileBuilder()
            b.dim = [3, 7, 6, 5, 1, 1, 1, 1]
            b.pixdim = [1, 1.5, 2, 2.5, 1, 1, 1, 1]
            configure(&b)
            files.append((name, b))
        }
        // Unit quaternion (a, b, c, d) ∝ (0.9, 0.2, -0.3, 0.25): an oblique rotation.
        let q = SIMD4<Double>(0.9, 0.2, -0.3, 0.25) / (0.81 + 0.04 + 0.09 + 0.0625).squareRoot()
        add("oblique-qform.nii") { $0.qformCode = 1; $0.quatern = [q.y, q.z, q.w]; $0.qoffset = [-20, 35.5, 12] }
        add("qfac-minus1.nii") { $0.qformCode = 1; $0.quatern = [q.y, q.z, q.w]; $0.qoffset = [5, 6, 7]; $0.pixdim[0] = -1 }
        add("lps-sform.nii") {   // i → Left, j → Posterior: diag(-1.5, -2, 2.5)
            $0.sformCode = 1; $0.srow = [-1.5, 0, 0, 90, 0, -2, 0, 100, 0, 0, 2.5, -60]
        }
        add("las-both.nii") {     // i → Left; qform: 180° about y with qfac -1 gives diag(-1, 1, 1)
            $0.sformCode = 2; $0.srow = [-1.5, 0, 0, 90, 0, 2, 0, -126, 0, 0, 2.5, -72]
            $0.qformCode = 1; $0.quatern = [0, 1, 0]; $0.pixdim[0] = -1; $0.qoffset = [90, -126, -72]
        }
        add("big-endian.nii") {
            $0.bigEndian = true; $0.datatypeCode = 4; $0.values = (0..<210).map { Double($0 * 3 - 300) }
            $0.qformCode = 1; $0.quatern = [q.y, q.z, q.w]; $0.qoffset = [1, 2, 3]
            $0.sformCode = 3; $0.srow = [0, 0, 2.5, -10, -1.5, 0, 0, 20, 0, 2, 0, -30]
        }
        add("nifti2.nii") {
            $0.version = 2; $0.datatypeCode = 64
            $0.sformCode = 4; $0.srow = [1.4, 0.2, 0.1, -70, -0.3, 1.9, 0.05, -100, 0.02, 0.4, 2.4, -50]
        }
        add("four-d.nii.gz") {
            $0.dim = [4, 7, 6, 5, 3, 1, 1, 1]; $0.datatypeCode = 512
            $0.qformCode = 2; $0.quatern = [q.y, q.z, q.w]
        }
        add("disagree.nii") {
            $0.qformCode = 1; $0.quatern = [q.y, q.z, q.w]
            $0.sformCode = 2; $0.srow = [1.5, 0, 0, 3, 0, 2, 0, 4, 0, 0, 2.5, 5]
        }
        add("code0.nii") { $0.pixdim = [0, 2, 3, 4, 1, 1, 1, 1] }
        add("code0-4d.nii") { $0.dim = [4, 7, 6, 5, 2, 1, 1, 1] }
        add("scaled.nii") { $0.datatypeCode = 4; $0.sclSlope = 0.25; $0.sclInter = -3; $0.sformCode = 2; $0.srow = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0] }
        return files
    }

    @Test("our world matrices, shapes, datatypes and voxel sums match nibabel's")
    func crossCheck() throws {
        let dir = makeTemporaryDirectory("nifti-nibabel")
        var paths: [String] = []
        for (name, b) in NIfTINibabelCrossCheckTests.oddFiles() {
            paths.append(try b.write(to: dir + "/" + name))
        }
        // Our writer's output too (oblique, mirrored, gzip, int16, 4D).
        let grid = Grid(dims: SIMD3(8, 7, 6), voxelToWorld: obliqueMirrored)
        let a = NIfTIWriterTests.phantom(grid, scale: 1, offset: 0)
        try NIfTIWriter.write(frames: [a, a], to: dir + "/written.nii.gz", datatype: .int16)
        paths.append(dir + "/written.nii.gz")
        let real = NIfTIRealDataTests.expected.map { NIfTIRealDataTests.dataFolder + "/" + $0.file }
            .filter { FileManager.default.fileExists(atPath: $0) }
        paths += real
        if real.isEmpty { Issue.record("no real volumes found in \(NIfTIRealDataTests.dataFolder); only synthetic files were compared") }

        guard let reports = try NIfTINibabelCrossCheckTests.nibabel(paths) else { return }
        #expect(reports.count == paths.count)
        for r in reports {
            let img = try NIfTIReader.read(r.path)
            let h = img.header
            let ours = h.voxelToWorld.rows4x4
            let worst = zip(ours.joined(), r.affine.joined()).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < NIfTINibabelCrossCheckTests.affineTolerance,
                    "\(URL(fileURLWithPath: r.path).lastPathComponent): ours \(ours) nibabel \(r.affine)")
            let shape = h.frameCount > 1 ? h.dims : Array(h.dims.prefix(3))
            #expect(shape == r.shape, "\(r.path)")
            #expect(h.datatype.rawValue == r.dtype, "\(r.path)")
            #expect(h.sformCode == r.sform_code && h.qformCode == r.qform_code, "\(r.path)")
            #expect(h.bigEndian == r.big_endian && h.version == (r.sizeof_hdr == 540 ? 2 : 1), "\(r.path)")
            let sum = img.voxels.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - r.data_sum) <= Tolerance.float32Relative * max(1, abs(r.data_sum)), "\(r.path): sum \(sum) vs \(r.data_sum)")
            #expect(img.voxels.prefix(8).map(Double.init) == r.first_values, "\(r.path)")
        }
        // The files built with differing sform and qform are flagged, and only those.
        let flagged = try reports.filter { try NIfTIReader.readHeader($0.path).sformQformDisagree }
            .map { URL(fileURLWithPath: $0.path).lastPathComponent }
        #expect(flagged == ["big-endian.nii", "disagree.nii"])
    }
}
