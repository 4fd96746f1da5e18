import Foundation
import NIfTIIO
import Registration
import Testing
import TestSupport
import TransformIO
import VolumeCore
import Workflows

/// Outputs: never over an input, and a failure mid-write (a full disk) leaves no partial file.
struct OutputSafetyTests {
    /// A tmpfs of `kib` KiB at a fresh folder, or nil (with the reason) when mounting is not
    /// permitted (not root, or no mount in a container).
    static func smallDisk(kib: Int) -> (path: String, unmount: () -> Void)? {
        let dir = makeTemporaryDirectory("full-disk")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", "size=\(kib)k", "tmpfs", dir]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return (dir, {
            let u = Process()
            u.executableURL = URL(fileURLWithPath: "/bin/umount")
            u.arguments = [dir]
            try? u.run(); u.waitUntilExit()
        })
    }

    static let mountPermitted = smallDisk(kib: 16).map { $0.unmount(); return true } ?? false

    /// Fills `dir` until fewer than `leave` bytes are free.
    static func fill(_ dir: String, leave: Int) {
        var n = 0
        while true {
            var s = statvfs()
            guard statvfs(dir, &s) == 0 else { return }
            let free = Int(s.f_bavail) * Int(s.f_frsize)
            if free <= leave { return }
            let chunk = [UInt8](repeating: 7, count: min(free - leave, 64 << 10))
            guard FileManager.default.createFile(atPath: dir + "/filler\(n)", contents: Data(chunk)) else { return }
            n += 1
        }
    }

    static func visibleFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix("filler") }.sorted()
    }

    @Test(.enabled(if: mountPermitted, "mounting a tmpfs is not permitted here (needs root); full-disk tests skipped"),
          arguments: ["out.nii", "out.nii.gz"])
    func fullDiskNIfTIWriteLeavesNoFile(_ name: String) throws {
        guard let disk = OutputSafetyTests.smallDisk(kib: 200) else { Issue.record("mount failed"); return }
        defer { disk.unmount() }
        OutputSafetyTests.fill(disk.path, leave: 8 << 10)
        // 40×40×40 float32 = 256 KB (noise: gzip cannot shrink it below the free space).
        let v = Phantom.noise(grid: Grid(dims: SIMD3(40, 40, 40), spacingMM: SIMD3(1, 1, 1), origin: .zero), seed: 1)
        let e = #expect(throws: NIfTIError.self) { try NIfTIWriter.write(v, to: disk.path + "/" + name) }
        #expect(e?.kind == .writeFailed, "\(String(describing: e))")
        #expect(e?.description.hasPrefix(disk.path + "/" + name) == true)
        #expect(OutputSafetyTests.visibleFiles(disk.path).isEmpty, "left behind: \(OutputSafetyTests.visibleFiles(disk.path))")
    }

    @Test(.enabled(if: mountPermitted, "mounting a tmpfs is not permitted here (needs root); full-disk tests skipped"))
    func fullDiskTransformAndJSONWritesLeaveNoFile() throws {
        guard let disk = OutputSafetyTests.smallDisk(kib: 200) else { Issue.record("mount failed"); return }
        defer { disk.unmount() }
        OutputSafetyTests.fill(disk.path, leave: 0)
        let t = Decomposition(translation: SIMD3(1, 2, 3), rotationDegrees: SIMD3(4, 5, 6)).affine
        for format in [TransformFormat.itkText, .antsMat, .niftyReg] {
            let path = disk.path + "/t." + format.fileExtension
            #expect(throws: (any Error).self) { try TransformFile.write(t, format: format, to: path) }
        }
        // The JSON record goes through AtomicFile.write as well.
        let big = Data(repeating: 0x20, count: 64 << 10)
        let e = #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.write(big, to: disk.path + "/out_transform.json") }
        #expect(e?.description.contains("out_transform.json") == true)
        #expect(OutputSafetyTests.visibleFiles(disk.path).isEmpty, "left behind: \(OutputSafetyTests.visibleFiles(disk.path))")
    }

    /// `align` onto a full disk: no partial output, and a failure record in the audit log
    /// (kept on another disk) that names the file that could not be written.
    @Test(.enabled(if: mountPermitted, "mounting a tmpfs is not permitted here (needs root); full-disk tests skipped"))
    func fullDiskAlignLeavesNoFileAndAFailureRecord() throws {
        guard let disk = OutputSafetyTests.smallDisk(kib: 200) else { Issue.record("mount failed"); return }
        defer { disk.unmount() }
        let inputs = makeTemporaryDirectory("align-inputs")
        let grid = Grid(dims: SIMD3(20, 22, 18), spacingMM: SIMD3(5, 5, 5), origin: SIMD3(-48, -52, -42))
        try NIfTIWriter.write(Phantom.blobs(grid: grid), to: inputs + "/atlas.nii")
        try NIfTIWriter.write(Phantom.blobs(grid: grid), to: inputs + "/scan.nii")
        var p = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/rigid-same-subject.json")
        p.levels = [.init(spacingMM: 10, iterations: 5)]
        p.initialisation.searchSpacingMM = 10
        try p.canonicalJSON().write(to: URL(fileURLWithPath: inputs + "/p.json"))
        OutputSafetyTests.fill(disk.path, leave: 4 << 10)
        let log = inputs + "/audit.jsonl"
        let job = AlignJob(scanPath: inputs + "/scan.nii", atlasPath: inputs + "/atlas.nii", prefix: disk.path + "/out",
                           protocolName: inputs + "/p.json", threads: 1, commandLine: ["test"])
        #expect(throws: (any Error).self) { try job.runAndAudit(log: log) }
        #expect(OutputSafetyTests.visibleFiles(disk.path).isEmpty, "left behind: \(OutputSafetyTests.visibleFiles(disk.path))")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("\"status\":\"failed\"") == true)
        #expect(lines.first?.contains(disk.path + "/out_") == true)
    }

    /// The same without a mount: an injected failure inside the temporary-file step.
    @Test func injectedWriteErrorLeavesNoFile() throws {
        struct Injected: Error {}
        let dir = makeTemporaryDirectory("injected")
        let path = dir + "/out.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: Injected.self) {
            try AtomicFile.withTemporary(for: path) { tmp in
                try Data("half a reco".utf8).write(to: URL(fileURLWithPath: tmp))
                throw Injected()
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.json"])
    }

    /// `stnreg apply -o` naming an input (the moving image, the reference or the transform, also
    /// through a symbolic link): refused before anything is read or written.
    @Test func applyRefusesAnOutputThatIsAnInput() throws {
        let dir = makeTemporaryDirectory("apply-input")
        let grid = Grid(dims: SIMD3(8, 9, 7), spacingMM: SIMD3(3, 3, 3), origin: .zero)
        let moving = dir + "/moving.nii", reference = dir + "/ref.nii.gz", transform = dir + "/t.tfm"
        try NIfTIWriter.write(Phantom.blobs(grid: grid), to: moving)
        try NIfTIWriter.write(Phantom.blobs(grid: grid), to: reference)
        try TransformFile.write(.identity, format: .itkText, to: transform)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.nii", withDestinationPath: moving)
        let before = try [moving, reference, transform].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        for output in [moving, reference, transform, dir + "/link.nii", dir + "/./moving.nii"] {
            let job = ApplyJob(transformPath: transform, movingPath: moving, referencePath: reference, outputPath: output, threads: 1)
            let e = #expect(throws: AtomicFile.WriteError.self) { try job.run() }
            #expect(e?.description.contains("this is also an input file") == true, "\(output)")
        }
        let after = try [moving, reference, transform].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        #expect(before == after)
    }

    /// Align prefixes whose outputs would land on an input: each of the seven output names.
    @Test(arguments: ["_warped.nii.gz", "_transform.json", "_itk.tfm", "_ants.mat", "_fsl.mat", "_niftyreg.txt", ".lta"])
    func alignRefusesAPrefixThatHitsAnInput(_ suffix: String) throws {
        let dir = makeTemporaryDirectory("align-input")
        let atlasPath = dir + "/atlas.nii.gz"
        try NIfTIWriter.write(Phantom.blobs(grid: tinyGrid), to: atlasPath)
        // The scan is stored under the name an output would take (a gzip NIfTI, whatever its name).
        let scanPath = dir + "/x" + suffix
        try FileManager.default.copyItem(atPath: atlasPath, toPath: scanPath)
        let before = try Data(contentsOf: URL(fileURLWithPath: scanPath))
        let job = AlignJob(scanPath: scanPath, atlasPath: atlasPath, prefix: dir + "/x", threads: 1, commandLine: ["test"])
        #expect(throws: AtomicFile.WriteError.self) { try job.run() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: scanPath)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["atlas.nii.gz", "x" + suffix].sorted())
    }
}
