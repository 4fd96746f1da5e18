import AuditLog
import Foundation
import Hashing
import NIfTIIO
import Testing
import TestSupport
import VolumeCore
import Workflows

/// `batch --scan-mask-suffix`: each scan's mask by name; masks in the inputs are not items;
/// a missing mask fails that item with one line and nothing else.
struct BatchMaskTests {
    @Test func masksByNameAreUsedAndNotRegistered() throws {
        let c = try BatchCase(scans: 2)
        let g = try NIfTIReader.readHeader(c.scanPaths[0]).grid
        let mask = c.inputDir + "/sub-01_T1w_mask.nii.gz"
        try NIfTIWriter.write(Volume(grid: g, voxels: [Float](repeating: 1, count: g.voxelCount)), to: mask)
        var job = c.batch(try c.out("o"), inputs: c.scanPaths + [mask])
        job.scanMaskSuffix = "_mask"
        let summary = try job.run()
        #expect(summary.results.count == 2)   // the mask is not an item
        let byName = Dictionary(uniqueKeysWithValues: summary.results.map { ($0.item.name, $0) })
        #expect(byName["sub-01_T1w.nii.gz"]?.status == .done)
        let missing = try #require(byName["sub-02_T1w.nii.gz"])
        #expect(missing.status == .failed)
        #expect(missing.message?.contains("no mask sub-02_T1w_mask.nii.gz") == true, "\(missing.message ?? "")")
        let done = try records(summary.logPath).first { itemName($0) == "sub-01_T1w.nii.gz" }
        let maskInput = done?.fields["inputs"]?.array?.first { $0["role"]?.string == "scanMask" }
        #expect(maskInput?["sha256"]?.string == (try SHA256.hex(ofFile: mask)))
    }
}
