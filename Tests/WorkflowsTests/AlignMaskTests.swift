import AuditLog
import Foundation
import Hashing
import NIfTIIO
import Registration
import Testing
import TestSupport
import VolumeCore
import Workflows

/// `align --scan-mask / --atlas-mask`: bad masks get one line naming the file and the problem
/// (nothing written); good ones are used and their hashes recorded.
struct AlignMaskTests {
    func scanGrid(_ c: PhantomCase) throws -> Grid { try NIfTIReader.readHeader(c.scanPath).grid }

    func write(_ v: Volume, _ path: String) throws -> String {
        try NIfTIWriter.write(v, to: path, datatype: .float32)
        return path
    }

    @Test func badMasksAreRefusedWithOneLineAndNothingWritten() throws {
        let c = try PhantomCase()
        let g = try scanGrid(c)
        let wrong = try write(Volume(grid: Grid(dims: g.dims &+ SIMD3(1, 0, 0), spacingMM: g.spacingMM)), c.dir + "/wrong.nii.gz")
        var labels = Volume(grid: g); labels.voxels[10] = 48
        let labelPath = try write(labels, c.dir + "/labels.nii.gz")
        let empty = try write(Volume(grid: g), c.dir + "/empty.nii.gz")
        let cases: [(String, String)] = [(wrong, "voxels but the scan is"), (labelPath, "not a binary mask"), (empty, "the mask is empty")]
        for (path, text) in cases {
            var job = c.job(prefix: "bad")
            job.scanMaskPath = path
            do {
                _ = try job.run()
                Issue.record("expected an error for \(path)")
            } catch {
                let message = String(describing: error)
                #expect(message.hasPrefix(path + ": --scan-mask: "), "\(message)")
                #expect(message.contains(text), "\(message)")
                #expect(!message.contains("\n"))
            }
            #expect(!FileManager.default.fileExists(atPath: c.dir + "/bad_transform.json"))
        }
        // An atlas mask on the scan's grid is the wrong grid for the atlas.
        var job = c.job(prefix: "bad")
        job.atlasMaskPath = try write(Volume(grid: g, voxels: [Float](repeating: 1, count: g.voxelCount)), c.dir + "/scan-grid.nii.gz")
        #expect(throws: (any Error).self) { _ = try job.run() }
    }

    @Test func masksAreUsedAndTheirHashesRecorded() throws {
        let c = try PhantomCase()
        let g = try scanGrid(c)
        let ones = try write(Volume(grid: g, voxels: [Float](repeating: 1, count: g.voxelCount)), c.dir + "/ones.nii.gz")
        var job = c.job(prefix: "masked")
        job.scanMaskPath = ones
        let log = c.dir + "/audit.jsonl"
        let outcome = try job.runAndAudit(log: log)
        #expect(outcome.record.scanMask?.sha256 == (try SHA256.hex(ofFile: ones)))
        #expect(outcome.record.atlasMask == nil)
        // An all-ones mask counts every voxel: the same transform as without a mask.
        let plain = try c.job(prefix: "plain").run()
        #expect(outcome.record.atlasToScan == plain.record.atlasToScan)
        let record = try #require(try AuditLogFile(path: log).readRecords().last)
        let roles = record.fields["inputs"]?.array?.compactMap { $0["role"]?.string }
        #expect(roles == ["scan", "atlas", "scanMask"])
        #expect(record.fields["inputs"]?.array?.last?["sha256"]?.string == (try SHA256.hex(ofFile: ones)))
    }
}
