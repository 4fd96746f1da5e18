import Foundation
import NIfTIIO
import Sampling
import Testing
import TestSupport
import VolumeCore
@testable import TransformIO

/// Our transform files read by the tools they are for (issue 3 item 7), through
/// `Tests/Scripts/interop_transforms.py`: SimpleITK and ANTsPy resample a phantom with our ITK
/// text and ANTs .mat files and must agree with our own `resample`; nitransforms reads our FSL,
/// LTA and ITK files (numpy our NiftyReg file) and must recover atlasToScan; and files that
/// SimpleITK, ANTsPy and nitransforms write for a known transform must read back as it.
///
/// Needs python3 with the packages of `.ci/requirements.txt`; when they are missing the test
/// fails and says which `pip install` to run.
@Suite(.serialized) struct InteropTests {
    /// Linear interpolation is the same formula everywhere; what differs is float rounding of
    /// coordinates (ours steps in Float, ITK works in double from float32 header fields), so
    /// values (phantom range about −60…200) agree to well below this (measured: under 5e-4).
    static let intensityTolerance: Float = 0.005
    /// Matrices read by other tools (nitransforms parses ITK text and LTA as float32).
    static let matrixTolerance = 1e-4
    /// Scan voxels kept away from the border: the tools differ in how they pad outside.
    static let borderMarginVoxels = 1.0

    struct Case {
        var name: String
        var atlas: Grid
        var scan: Grid
        var atlasToScan: Affine
        var centreRAS: SIMD3<Double>
    }

    /// A grid centred on the world origin (so that atlas and scan overlap).
    static func centred(dims: SIMD3<Int>, spacing: SIMD3<Double>, flips: SIMD3<Double>, rotationDegrees: SIMD3<Double>) -> Grid {
        let g = TestGrids.make(dims: dims, spacing: spacing, flips: flips, rotationDegrees: rotationDegrees)
        return Grid(dims: dims, voxelToWorld: Affine(linear: g.voxelToWorld.linear,
                                                     translation: -(g.voxelToWorld.linear * (SIMD3<Double>(dims &- 1) / 2))))
    }

    static func cases() -> [Case] {
        var rng = SeededGenerator(seed: 77)
        let mild = { (rng: inout SeededGenerator) in
            KnownTransforms.random(&rng, maxDegrees: 12, maxScale: 0.06, maxShear: 0.04, maxTranslation: 3)
        }
        return [
            Case(name: "obliqueLAS_scan",
                 atlas: centred(dims: SIMD3(24, 26, 22), spacing: .one, flips: .one, rotationDegrees: .zero),
                 scan: centred(dims: SIMD3(20, 22, 18), spacing: SIMD3(1.1, 1.3, 1.6), flips: SIMD3(-1, 1, 1),
                               rotationDegrees: SIMD3(12, -8, 20)),
                 atlasToScan: mild(&rng), centreRAS: SIMD3(3, -4, 5)),
            Case(name: "LPS_scan_oblique_atlas",
                 atlas: centred(dims: SIMD3(16, 20, 12), spacing: SIMD3(1.5, 1.2, 2), flips: SIMD3(-1, 1, 1),
                                rotationDegrees: SIMD3(-6, 10, 4)),
                 scan: centred(dims: SIMD3(26, 28, 20), spacing: SIMD3(0.9, 0.9, 1.4), flips: SIMD3(-1, -1, 1),
                               rotationDegrees: SIMD3(0, 0, 7)),
                 atlasToScan: mild(&rng), centreRAS: SIMD3(-7, 2, 9)),
        ]
    }

    @Test func otherToolsReadOurFilesAndWeReadTheirs() throws {
        let dir = makeTemporaryDirectory("stnreg-interop")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var manifest: [[String: Any]] = []
        var written: [(Case, atlas: Volume, scan: Volume)] = []
        for c in Self.cases() {
            // Images as files, then read back: every tool then sees the same (float32) geometry.
            let atlasPath = "\(c.name)_atlas.nii", scanPath = "\(c.name)_scan.nii"
            try NIfTIWriter.write(Phantom.blobs(grid: c.atlas), to: "\(dir)/\(atlasPath)", datatype: .float32)
            try NIfTIWriter.write(Phantom.blobs(grid: c.scan), to: "\(dir)/\(scanPath)", datatype: .float32)
            let atlas = try NIfTIReader.readVolume("\(dir)/\(atlasPath)")
            let scan = try NIfTIReader.readVolume("\(dir)/\(scanPath)")
            #expect(Affine.maxAbsDifference(atlas.grid.voxelToWorld, c.atlas.voxelToWorld) < Tolerance.float32StoredEntry)
            var files: [String: String] = [:]
            for format in TransformFormat.allCases {
                let name = "\(c.name)_ours_\(format.rawValue).\(format.fileExtension)"
                try TransformFile.write(c.atlasToScan, format: format, to: "\(dir)/\(name)", atlasGrid: atlas.grid,
                                        scanGrid: scan.grid, atlasName: atlasPath, scanName: scanPath)
                files[format.rawValue] = name
            }
            let floatName = "\(c.name)_ours_antsMat_float.mat"
            try ANTsMatTransform.encode(c.atlasToScan, precision: .float).write(to: URL(fileURLWithPath: "\(dir)/\(floatName)"))
            files["antsMatFloat"] = floatName
            manifest.append(["name": c.name, "atlas": atlasPath, "scan": scanPath, "files": files,
                             "atlasToScan": c.atlasToScan.rowMajor4x4,
                             "centreRAS": [c.centreRAS.x, c.centreRAS.y, c.centreRAS.z]])
            written.append((c, atlas, scan))
        }
        let manifestPath = dir + "/manifest.json"
        try JSONSerialization.data(withJSONObject: ["cases": manifest]).write(to: URL(fileURLWithPath: manifestPath))

        try runScript(manifestPath, in: dir)

        let resultsData = try Data(contentsOf: URL(fileURLWithPath: dir + "/results.json"))
        let results = try #require(try JSONSerialization.jsonObject(with: resultsData) as? [String: Any])
        let resultCases = try #require(results["cases"] as? [[String: Any]])
        try #require(resultCases.count == written.count)
        for ((c, atlas, scan), r) in zip(written, resultCases) {
            try checkResampling(c, atlas: atlas, scan: scan, results: r, dir: dir)
            try checkMatrices(c, results: r)
            try checkTheirFiles(c, atlas: atlas.grid, scan: scan.grid, results: r, dir: dir)
        }
    }

    /// (b, c) SimpleITK and ANTsPy resampling with our ITK text and ANTs .mat = our `resample`.
    func checkResampling(_ c: Case, atlas: Volume, scan: Volume, results r: [String: Any], dir: String) throws {
        let ours = resample(scan, onto: atlas.grid, atlasToScan: c.atlasToScan, interpolation: .linear, threads: 1)
        // Interior: atlas voxels whose scan position is at least a margin inside the scan grid.
        let map = targetVoxelToScanVoxel(target: atlas.grid, scan: scan.grid, atlasToScan: c.atlasToScan)
        let lo = SIMD3(repeating: Self.borderMarginVoxels)
        let hi = SIMD3<Double>(scan.grid.dims &- 1) - Self.borderMarginVoxels
        var interior: [Int] = []
        for k in 0..<atlas.dims.z { for j in 0..<atlas.dims.y { for i in 0..<atlas.dims.x {
            let p = map.apply(SIMD3(Double(i), Double(j), Double(k)))
            if all(p .>= lo) && all(p .<= hi) { interior.append(atlas.grid.index(i, j, k)) }
        } } }
        #expect(interior.count > atlas.grid.voxelCount / 5, "\(c.name): too little overlap for a meaningful comparison")
        let range = try #require(scan.intensityRange)
        #expect(range.max - range.min > 50, "\(c.name): the phantom should have contrast")
        for key in ["sitk_itkText", "sitk_antsMat", "ants_antsMat", "ants_itkText"] {
            let file = try #require(r[key] as? String, "\(key) missing from results")
            let theirs = try readRawFloat32("\(dir)/\(file)", count: atlas.grid.voxelCount)
            var worst: Float = 0
            for n in interior { worst = max(worst, abs(theirs[n] - ours.voxels[n])) }
            #expect(worst <= Self.intensityTolerance, "\(c.name) \(key): largest interior difference \(worst)")
            // And a wrong convention would show: the same comparison against the inverse transform fails.
            let wrong = resample(scan, onto: atlas.grid, atlasToScan: c.atlasToScan.inverse!, threads: 1)
            var wrongWorst: Float = 0
            for n in interior { wrongWorst = max(wrongWorst, abs(theirs[n] - wrong.voxels[n])) }
            #expect(wrongWorst > 1, "\(c.name) \(key): the comparison cannot tell T from its inverse")
        }
    }

    /// (d) nitransforms (FSL, LTA, ITK text, ANTs .mat) and numpy (NiftyReg) recover atlasToScan.
    func checkMatrices(_ c: Case, results r: [String: Any]) throws {
        for key in ["nitransforms_fsl", "nitransforms_lta", "nitransforms_itkText", "nitransforms_antsMat", "numpy_niftyReg"] {
            let values = try #require(r[key] as? [Double], "\(key) missing from results")
            let m = try #require(Affine(rowMajor4x4: values), "\(key): not an affine")
            #expect(relativeDifference(m, c.atlasToScan) < Self.matrixTolerance,
                    "\(c.name) \(key): read as\n\(m)\nexpected\n\(c.atlasToScan)")
        }
        // SimpleITK parsed our ITK text into exactly our parameters, and our float32 .mat
        // (AffineTransform_float_3_3) into them to float precision; so did ANTsPy.
        let p = ITKAffineParameters(atlasToScan: c.atlasToScan)
        let sitk = try #require(r["sitk_itkText_matrix"] as? [Double])
        #expect(sitk.count == 15 && zip(sitk, p.parameters + p.fixedParameters).allSatisfy { abs($0 - $1) < Tolerance.transformFileRoundTrip })
        for key in ["sitk_antsMatFloat_params", "ants_antsMatFloat_params"] {
            let q = try #require(r[key] as? [Double], "\(key) missing from results")
            #expect(q.count == 12 && zip(q, p.parameters).allSatisfy { abs($0 - $1) < Tolerance.float32StoredEntry * (1 + abs($1)) }, "\(c.name) \(key): \(q)")
        }
    }

    /// Files written by SimpleITK (text and .mat) and ANTsPy (.mat), all with a non-zero centre,
    /// and by nitransforms (FSL) read back as atlasToScan. (ITK writes even a float transform as
    /// AffineTransform_double_3_3, so the float variant is checked the other way, above.)
    func checkTheirFiles(_ c: Case, atlas: Grid, scan: Grid, results r: [String: Any], dir: String) throws {
        let w = try #require(r["written"] as? [String: String])
        let expected: [(String, TransformFormat?, Double)] = [
            ("sitk_tfm", nil, Tolerance.otherWriterDouble), ("sitk_mat", nil, Tolerance.otherWriterDouble),
            ("ants_mat", .antsMat, Tolerance.otherWriterANTsFloat), ("nitransforms_fsl", .fsl, Tolerance.otherWriterFSLText),
        ]
        for (key, format, tolerance) in expected {
            let file = try #require(w[key], "\(key) missing from results")
            let t = try TransformFile.read(path: "\(dir)/\(file)", format: format, atlasGrid: atlas, scanGrid: scan)
            #expect(relativeDifference(t, c.atlasToScan) < tolerance, "\(c.name) \(key): read as\n\(t)")
        }
    }

    func readRawFloat32(_ path: String, count: Int) throws -> [Float] {
        let d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(d.count == 4 * count, "\(path): \(d.count) bytes, expected \(4 * count)")
        return (0..<count).map { n in
            Float(bitPattern: UInt32(d[4 * n]) | UInt32(d[4 * n + 1]) << 8 | UInt32(d[4 * n + 2]) << 16 | UInt32(d[4 * n + 3]) << 24)
        }
    }

    /// Runs the interop script; a missing python3 or package is a failure that says what to install.
    func runScript(_ manifest: String, in dir: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts/interop_transforms.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, manifest]
        let outPath = dir + "/script.out", errPath = dir + "/script.err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        process.waitUntilExit()
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        switch process.terminationStatus {
        case 0: return
        case 127:
            throw ScriptFailure(description: "python3 not found: install Python 3, then python3 -m pip install -r .ci/requirements.txt (SimpleITK antspyx nitransforms nibabel)")
        case 3:
            throw ScriptFailure(description: out.trimmingCharacters(in: .whitespacesAndNewlines))
        default:
            throw ScriptFailure(description: "interop_transforms.py failed (exit \(process.terminationStatus)): \(out.suffix(2000)) \(err.suffix(4000))")
        }
    }

    /// Why the interop script could not run (a missing interpreter or package names the fix).
    struct ScriptFailure: Error, CustomStringConvertible {
        var description: String
    }
}
