import ArgumentParser
import Foundation
import NIfTIIO
import VolumeCore

/// `stnreg info FILE…`: what a NIfTI file holds and how stnreg reads its geometry.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show dims, spacing, datatype, orientation, world matrix and intensity range of NIfTI files.")

    @Argument(help: "NIfTI files (.nii or .nii.gz).")
    var files: [String]

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        var reports: [VolumeInfo] = []
        var failures: [String] = []
        for path in files {
            do {
                reports.append(try VolumeInfo(path: path))
            } catch {
                failures.append(String(describing: error))
            }
        }
        if json {
            print(try JSONText.encode(reports))
        } else {
            print(reports.map(\.table).joined(separator: "\n\n"))
        }
        for f in failures { printError(f) }
        if !failures.isEmpty { throw ExitCode.failure }
    }
}

/// What `stnreg info` reports about one file (also its JSON form).
struct VolumeInfo: Codable {
    var path: String
    var format: String
    var compressed: Bool
    var dims: [Int]
    var frames: Int
    var spacingMM: [Double]
    var datatype: String
    var sclSlope: Double
    var sclInter: Double
    var orientation: String
    var oblique: Bool
    var obliquityDegrees: Double
    var matrixUsed: String
    var matrixReason: String
    var sformQformDisagree: Bool
    var voxelToWorld: [[Double]]
    var worldBoundingBoxMM: [[Double]]
    var intensityRange: [Double]?

    init(path: String) throws {
        let image = try NIfTIReader.read(path, options: NIfTIReadOptions(nonFinite: .replaceWithZero))
        let h = image.header
        let grid = image.grid
        self.path = path
        format = "NIfTI-\(h.version)"
        compressed = h.compressed
        dims = Array(h.dims.prefix(3))
        frames = image.frameCount
        spacingMM = [grid.spacingMM.x, grid.spacingMM.y, grid.spacingMM.z]
        datatype = h.datatype.rawValue
        sclSlope = h.sclSlope
        sclInter = h.sclInter
        let o = Orientation(voxelToWorld: grid.voxelToWorld)
        orientation = o.code
        oblique = o.isOblique
        obliquityDegrees = o.obliquityDegrees
        switch h.matrixSource {
        case .sform(let code):
            matrixUsed = "sform"
            matrixReason = "sform_code \(code) (\(formCodeName(code))) > 0 takes precedence"
        case .qform(let code):
            matrixUsed = "qform"
            matrixReason = "sform_code 0; qform_code \(code) (\(formCodeName(code))) > 0"
        case .pixdim:
            matrixUsed = "pixdim"
            matrixReason = "sform_code and qform_code are 0: scaling by pixdim only"
        }
        sformQformDisagree = h.sformQformDisagree
        voxelToWorld = grid.voxelToWorld.rows4x4
        let box = grid.worldBoundingBox
        worldBoundingBoxMM = [[box.min.x, box.min.y, box.min.z], [box.max.x, box.max.y, box.max.z]]
        var lo = Float.infinity, hi = -Float.infinity
        for t in 0..<image.frameCount {
            if let r = image.frame(t).intensityRange { lo = min(lo, r.min); hi = max(hi, r.max) }
        }
        intensityRange = lo <= hi ? [Double(lo), Double(hi)] : nil
    }

    var table: String {
        func mm(_ v: Double) -> String { String(format: "%.3f", v) }
        func range(_ a: Int) -> String {
            "\(["x", "y", "z"][a]) [\(String(format: "%.1f", worldBoundingBoxMM[0][a])), \(String(format: "%.1f", worldBoundingBoxMM[1][a]))]"
        }
        var rows: [(String, String)] = [
            ("format", format + (compressed ? ", gzip" : "")),
            ("dims", dims.map(String.init).joined(separator: " × ") + (frames > 1 ? " × \(frames) frames" : "")),
            ("spacing", spacingMM.map(mm).joined(separator: " × ") + " mm"),
            ("datatype", datatype + (sclSlope != 1 || sclInter != 0 ? " (scl_slope \(sclSlope), scl_inter \(sclInter))" : "")),
            ("orientation", orientation + (oblique ? " (oblique by \(String(format: "%.2f", obliquityDegrees))°)" : "")),
            ("matrix", "\(matrixUsed): \(matrixReason)" + (sformQformDisagree ? " — WARNING: sform and qform disagree; using the sform" : "")),
            ("world box", (0..<3).map(range).joined(separator: "  ") + " mm (voxel centres)"),
        ]
        if let r = intensityRange {
            rows.append(("intensity", "\(formatNumber(r[0])) … \(formatNumber(r[1]))"))
        } else {
            rows.append(("intensity", "no finite voxels"))
        }
        return path + "\n" + rows.map { "  " + $0.0.padding(toLength: 12, withPad: " ", startingAt: 0) + " " + $0.1 }.joined(separator: "\n")
    }
}

/// NIfTI xform code names (nifti1.h).
func formCodeName(_ code: Int) -> String {
    switch code {
    case 1: return "scanner"
    case 2: return "aligned"
    case 3: return "Talairach"
    case 4: return "MNI"
    case 5: return "template"
    default: return "unknown"
    }
}

func formatNumber(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%.6g", v)
}
