import AuditLog
import Foundation
import Registration
import Testing
import TestSupport
import VolumeCore
import Workflows

/// The README's cluster path on a real Slurm: `scripts/slurm/stnreg-array.sh` as a job array
/// and `scripts/slurm/stnreg-merge.sh` after it, submitted with `sbatch` to the one-node Slurm
/// that `.ci/slurm-up` starts (it exports `STNREG_SLURM=1` and `SLURM_CONF`):
///
///     .ci/slurm-up swift test --filter SlurmArrayTests
///
/// 1. 6 scans, `--array=1-3`, the merge with `--dependency=afterany`: every task COMPLETED, the
///    merged log verifies, one record per item, every output there.
/// 2. 3 more scans, re-submitted (the script's submit mode, which creates `logs/`), and one task
///    cancelled with `scancel` while it registers: the merge step fails and names the item.
/// 3. Re-submitted: every task COMPLETED, nothing lost, nothing twice, the chain verifies.
@Suite(.serialized, .enabled(if: SlurmCluster.isUp, SlurmCluster.skipMessage))
struct SlurmArrayTests {
    @Test func arrayMergeCancelAndResubmit() throws {
        let t0 = Date()
        let c = try SlurmCase(scans: 9)
        let six = Array(c.scans.prefix(6))
        try c.writeList(six)

        // 1. The array and the dependent merge, submitted as the README shows.
        let array1 = try c.sbatch(["--array=1-3", "--cpus-per-task=1", "--mem=1G", c.arrayScript] + c.arrayArguments)
        let merge1 = try c.sbatch(["--dependency=afterany:\(array1)", c.mergeScript, c.out, "3", c.list])
        try c.waitUntilDone([array1, merge1])
        let tasks1 = try SlurmCluster.states(of: array1)
        #expect(tasks1.count == 3 && tasks1.values.allSatisfy { $0.state == "COMPLETED" && $0.exitCode == "0:0" }, "\(tasks1) \(c.taskOutputs())")
        #expect(try SlurmCluster.states(of: merge1).values.first?.state == "COMPLETED", "\(c.text(c.dir + "/stnreg-merge-\(merge1).out"))")
        // Without a log folder: the tasks' output went to the submission folder.
        #expect(FileManager.default.fileExists(atPath: c.dir + "/stnreg-\(array1)_1.out"))
        let merged1 = try c.mergedLog(job: merge1)
        try c.checkComplete(merged1, items: six)
        let round1 = Date().timeIntervalSince(t0)

        // 2. The list grows by 3 scans, listed last; submitted by the script itself. Task 2 is
        //    cancelled while it registers its new item (it skips its two old ones first).
        try c.writeList(six, then: Array(c.scans.suffix(3)))
        #expect(!FileManager.default.fileExists(atPath: c.dir + "/logs"))
        let (array2, merge2) = try c.submitWithScript()
        #expect(FileManager.default.fileExists(atPath: c.dir + "/logs"))
        let task2Output = c.dir + "/logs/stnreg-\(array2)_2.out"
        let victim = "sub-08_T1w.nii.gz"
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && !c.text(task2Output).contains("[2/3] skipped") { usleep(50_000) }
        #expect(c.text(task2Output).contains("[2/3] skipped"), "task 2 never reached its new item: \(c.text(task2Output))")
        _ = try SlurmCluster.run(["scancel", "\(array2)_2"])
        try c.waitUntilDone([array2, merge2])
        let tasks2 = try SlurmCluster.states(of: array2)
        #expect(tasks2[2]?.state == "CANCELLED", "\(tasks2)")
        #expect(tasks2[1]?.state == "COMPLETED" && tasks2[3]?.state == "COMPLETED", "\(tasks2)")
        // Cancelled mid-item: no record of it; the merge step says which item is missing.
        let shard2 = try records(c.out + "/stnreg-audit.shard-2-of-3.jsonl")
        #expect(!shard2.contains { itemName($0) == victim }, "the cancel came after the item finished")
        #expect(try SlurmCluster.states(of: merge2).values.first?.state == "FAILED")
        let mergeText2 = c.text(c.dir + "/logs/stnreg-merge-\(merge2).out")
        #expect(mergeText2.contains("FAILED \(victim)") && mergeText2.contains("no record"), "\(mergeText2)")
        let round2 = Date().timeIntervalSince(t0) - round1

        // 3. Re-submitted: the cancelled item is done, nothing is done twice.
        let (array3, merge3) = try c.submitWithScript()
        try c.waitUntilDone([array3, merge3])
        let tasks3 = try SlurmCluster.states(of: array3)
        #expect(tasks3.count == 3 && tasks3.values.allSatisfy { $0.state == "COMPLETED" }, "\(tasks3) \(c.taskOutputs())")
        #expect(try SlurmCluster.states(of: merge3).values.first?.state == "COMPLETED",
                "\(c.text(c.dir + "/logs/stnreg-merge-\(merge3).out"))")
        let task2Text = c.text(c.dir + "/logs/stnreg-\(array3)_2.out")
        #expect(task2Text.contains("3 items: 1 done, 2 skipped, 0 failed"), "\(task2Text)")
        let merged3 = try c.mergedLog(job: merge3)
        try c.checkComplete(merged3, items: c.scans)
        // Across all shard logs: each item exactly once.
        let all = try (1...3).flatMap { try records(c.out + "/stnreg-audit.shard-\($0)-of-3.jsonl") }
        #expect(all.count == 9 && Set(all.map(itemName)).count == 9, "\(all.map(itemName).sorted())")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: c.out).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        let total = Date().timeIntervalSince(t0)
        print(String(format: "SlurmArrayTests: round 1 %.1f s, round 2 (cancel) %.1f s, round 3 (resume) %.1f s, total %.1f s",
                     round1, round2, total - round1 - round2, total))
    }
}

/// The Slurm that `.ci/slurm-up` started, through its command-line clients.
enum SlurmCluster {
    static var isUp: Bool { ProcessInfo.processInfo.environment["STNREG_SLURM"] == "1" }

    static let skipMessage: Comment = """
        SKIPPED: no Slurm cluster (STNREG_SLURM is not 1). Run `.ci/slurm-up swift test --filter SlurmArrayTests`: \
        it installs Debian's slurmctld, slurmd and munge and starts a one-node Slurm (root needed); `.ci/run` does.
        """

    struct TaskState: CustomStringConvertible {
        var state: String
        var exitCode: String
        var description: String { "\(state) \(exitCode)" }
    }

    /// Runs a client; throws with its error output when it fails.
    @discardableResult
    static func run(_ arguments: [String], in folder: String? = nil, environment: [String: String] = [:]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        if let folder { p.currentDirectoryURL = URL(fileURLWithPath: folder) }
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let tmp = makeTemporaryFile()
        _ = FileManager.default.createFile(atPath: tmp, contents: nil)
        let err = FileHandle(forWritingAtPath: tmp)!
        let out = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errText = String(decoding: FileManager.default.contents(atPath: tmp) ?? Data(), as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw AuditLogError(path: arguments[0], problem: "exit \(p.terminationStatus): \(errText)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The state of each task of `job` (array index → state; index 0 for a job that is not an array).
    static func states(of job: Int) throws -> [Int: TaskState] {
        var out: [Int: TaskState] = [:]
        for line in try run(["scontrol", "show", "job", "-o", "\(job)"]).split(separator: "\n") {
            var fields: [String: String] = [:]
            for f in line.split(separator: " ") {
                let kv = f.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
            }
            out[Int(fields["ArrayTaskId"] ?? "0") ?? -1] = TaskState(state: fields["JobState"] ?? "?", exitCode: fields["ExitCode"] ?? "?")
        }
        return out
    }

    static func makeTemporaryFile() -> String { NSTemporaryDirectory() + "/stnreg-slurm-\(UUID().uuidString)" }
}

/// A submission folder with real 2 mm scans, a list, a quick protocol, and the repo's scripts.
struct SlurmCase {
    let dir: String
    let out: String
    let list: String
    let atlas = repositoryFolder + "/TestVolumes/mni152_t1_2mm.nii.gz"
    let arrayScript = repositoryFolder + "/scripts/slurm/stnreg-array.sh"
    let mergeScript = repositoryFolder + "/scripts/slurm/stnreg-merge.sh"
    let protocolPath: String
    let scans: [String]
    let environment: [String: String]

    /// `scans` copies of the two Colin27 volumes (with and without skull), named sub-01… .
    init(scans count: Int) throws {
        let dir = makeTemporaryDirectory("stnreg-slurm")
        self.dir = dir
        out = dir + "/derivatives"
        list = dir + "/scans.txt"
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        scans = try (1...count).map { n in
            let source = repositoryFolder + (n % 2 == 1 ? "/TestVolumes/colin27_brain_2mm.nii.gz" : "/TestVolumes/colin27_t1_2mm.nii.gz")
            let path = dir + String(format: "/in/sub-%02d_T1w.nii.gz", n)
            try FileManager.default.copyItem(atPath: source, toPath: path)
            return path
        }
        // About 3 s per scan in a debug build on one thread: long enough to cancel a task mid-item.
        var p = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json")
        p.name = "slurm-test-rigid"
        p.transform = .rigid
        p.network = nil
        p.initialisation.searchSpacingMM = 8
        p.initialisation.rotationSearch = .never
        p.levels = [.init(spacingMM: 8, iterations: 20), .init(spacingMM: 4, iterations: 15)]
        protocolPath = dir + "/slurm-test.json"
        try p.canonicalJSON().write(to: URL(fileURLWithPath: protocolPath))
        environment = ["STNREG": try stnregBinary()]
    }

    var arrayArguments: [String] { [atlas, list, out, "--protocol", protocolPath, "--no-network"] }

    /// The list: `shuffled` in a seeded random order, then `last` as given (relative paths:
    /// relative to the list's folder).
    func writeList(_ shuffled: [String], then last: [String] = []) throws {
        var rng = SeededGenerator(seed: UInt64(shuffled.count))
        let lines = (shuffled.shuffled(using: &rng) + last).map { "in/" + URL(fileURLWithPath: $0).lastPathComponent }
        try (lines.joined(separator: "\n") + "\n").write(toFile: list, atomically: true, encoding: .utf8)
    }

    func sbatch(_ arguments: [String]) throws -> Int {
        let text = try SlurmCluster.run(["sbatch", "--parsable"] + arguments, in: dir, environment: environment)
        let id = text.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let id, let n = Int(id) else { throw AuditLogError(path: "sbatch", problem: "unexpected output '\(text)'") }
        return n
    }

    /// `stnreg-array.sh` run on the "login node": it creates logs/ and submits the array and the merge.
    func submitWithScript() throws -> (array: Int, merge: Int) {
        let text = try SlurmCluster.run([arrayScript] + arrayArguments, in: dir,
                                        environment: environment.merging(["SHARDS": "3", "CPUS": "1", "MEM": "1G"]) { $1 })
        let numbers = text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard text.hasPrefix("array job"), numbers.count >= 3 else { throw AuditLogError(path: arrayScript, problem: "unexpected output '\(text)'") }
        return (numbers[0], numbers[2])
    }

    func waitUntilDone(_ jobs: [Int], timeout: TimeInterval = 150) throws {
        let deadline = Date().addingTimeInterval(timeout)
        let ids = jobs.map(String.init).joined(separator: ",")
        while Date() < deadline {
            let queued = try SlurmCluster.run(["squeue", "-h", "-j", ids, "-o", "%i %T"])
            if queued.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            usleep(200_000)
        }
        throw AuditLogError(path: "squeue", problem: "jobs \(ids) still queued after \(Int(timeout)) s: \(taskOutputs())")
    }

    /// The merged log the merge job names on its last line.
    func mergedLog(job: Int) throws -> String {
        let candidates = [dir + "/stnreg-merge-\(job).out", dir + "/logs/stnreg-merge-\(job).out"]
        let text = candidates.map(text).joined()
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("merged log: ") }) else {
            throw AuditLogError(path: candidates[0], problem: "no 'merged log:' line in \(text)")
        }
        return String(line.dropFirst("merged log: ".count))
    }

    /// The merged log verifies (outputs re-hashed), holds one ok record per item, and every
    /// item's outputs are there.
    func checkComplete(_ merged: String, items: [String]) throws {
        let v = try AuditVerifier.verify(path: merged)
        #expect(v.isIntact, "\(v.problems)")
        #expect(v.outputsChecked == items.count * 7)
        let rs = try records(merged)
        let names = items.map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(rs.count == items.count && rs.map(itemName).sorted() == names.sorted(), "\(rs.map(itemName))")
        #expect(rs.allSatisfy { $0.fields["status"]?.string == "ok" })
        for name in names {
            let stem = name.replacingOccurrences(of: ".nii.gz", with: "")
            for suffix in ["_warped.nii.gz", "_transform.json", "_itk.tfm", "_ants.mat", "_fsl.mat", "_niftyreg.txt", ".lta"] {
                let path = out + "/\(stem)_space-mni152_t1_2mm_desc-rigid\(suffix)"
                #expect(FileManager.default.fileExists(atPath: path), "\(path)")
            }
        }
    }

    func text(_ path: String) -> String { String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }

    /// Every task output file, for failure messages.
    func taskOutputs() -> String {
        let files = ((try? FileManager.default.subpathsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".out") }.sorted()
        return files.map { "--- \($0)\n" + text(dir + "/" + $0) }.joined(separator: "\n")
    }
}
