import Foundation
import NIfTIIO
import Testing
import TestSupport
import VolumeCore

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

struct InfoCommandTests {
    @Test func tableNamesTheMatrixAndWhy() throws {
        let r = try runBuiltStnreg(["info", repoRoot + "/TestVolumes/mni152_t1_2mm.nii.gz"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("99 × 117 × 95"))
        #expect(r.out.contains("2.000 × 2.000 × 2.000 mm"))
        #expect(r.out.contains("uint8"))
        #expect(r.out.contains("orientation  RAS"))
        #expect(r.out.contains("sform: sform_code 2 (aligned) > 0 takes precedence"))
    }

    @Test func jsonMatchesTheHeader() throws {
        let path = repoRoot + "/TestVolumes/colin27_t1_2mm.nii.gz"
        let r = try runBuiltStnreg(["info", "--json", path])
        #expect(r.status == 0)
        let items = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        let h = try NIfTIReader.readHeader(path)
        #expect(items.count == 1)
        #expect(items[0]["dims"] as? [Int] == Array(h.dims.prefix(3)))
        #expect(items[0]["orientation"] as? String == "RAS")
        #expect(items[0]["matrixUsed"] as? String == "sform")
        let range = try #require(items[0]["intensityRange"] as? [Double])
        let v = try NIfTIReader.readVolume(path)
        #expect(range == [Double(v.intensityRange!.min), Double(v.intensityRange!.max)])
    }

    @Test func obliqueLPSFileIsReportedAsSuch() throws {
        let dir = makeTemporaryDirectory()
        let lps = Affine(linear: Decomposition(rotationDegrees: SIMD3(12, 0, 0)).affine.linear * .diagonal(SIMD3(-1.5, -1.5, 3)),
                         translation: SIMD3(20, 30, -40))
        try NIfTIWriter.write(Volume(grid: Grid(dims: SIMD3(4, 5, 6), voxelToWorld: lps), repeating: 3), to: dir + "/o.nii")
        let r = try runBuiltStnreg(["info", dir + "/o.nii"])
        #expect(r.status == 0)
        #expect(r.out.contains("LPS (oblique by 12.00°)"))
    }

    @Test func aMissingFileIsOneLineAndExitsNonZeroWhileOthersArePrinted() throws {
        let r = try runBuiltStnreg(["info", "/nonexistent/scan.nii.gz", repoRoot + "/TestVolumes/mni152_t1_2mm.nii.gz"])
        #expect(r.status != 0)
        #expect(r.out.contains("mni152_t1_2mm"))
        let errLines = r.err.split(separator: "\n")
        #expect(errLines.count == 1)
        #expect(errLines.first?.contains("/nonexistent/scan.nii.gz") == true)
    }
}

struct AlignCommandTests {
    @Test func badInputIsOneClearLineAndNothingIsWritten() throws {
        let dir = makeTemporaryDirectory()
        try Data("not a nifti file".utf8).write(to: URL(fileURLWithPath: dir + "/bad.nii"))
        let r = try runBuiltStnreg(["align", dir + "/bad.nii", repoRoot + "/TestVolumes/mni152_t1_2mm.nii.gz", "-o", dir + "/out", "-q",
                                    "--audit-log", dir + "/audit.jsonl"])
        #expect(r.status != 0)
        let lines = r.err.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(r.err)")
        #expect(lines.first?.contains(dir + "/bad.nii") == true)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files == ["audit.jsonl", "bad.nii"], "\(files)")   // only the failure record beside the input
    }

    @Test func helpListsEverySubcommand() throws {
        let r = try runBuiltStnreg(["--help"])
        #expect(r.status == 0)
        for c in ["align", "apply", "train", "batch", "audit", "info"] { #expect(r.out.contains("  \(c)"), "\(c)") }
    }

    @Test func unknownProtocolNamesThePresets() throws {
        let dir = makeTemporaryDirectory()
        let r = try runBuiltStnreg(["align", repoRoot + "/TestVolumes/colin27_t1_2mm.nii.gz", repoRoot + "/TestVolumes/mni152_t1_2mm.nii.gz",
                                    "-o", dir + "/x", "--protocol", "nope", "-q", "--audit-log", dir + "/a.jsonl"])
        #expect(r.status != 0)
        #expect(r.err.contains("brain-affine"))
        #expect(r.err.contains("rigid-same-subject"))
    }
}
