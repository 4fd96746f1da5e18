import Foundation
import Testing
import Workflows

/// The scripts in `scripts/slurm/` without a Slurm: the README shows them as they are, they
/// parse, and the merge step run by hand answers "did every item succeed?".
struct SlurmScriptTests {
    static let scripts = ["stnreg-array.sh", "stnreg-merge.sh"].map { repositoryFolder + "/scripts/slurm/" + $0 }

    /// Each README block introduced by "(from `scripts/slurm/NAME`)" is an excerpt of that file:
    /// its lines appear there in the same order ("# …" marks a cut).
    @Test func theReadmeShowsTheScriptsAsTheyAre() throws {
        let readme = try String(contentsOfFile: repositoryFolder + "/README.md", encoding: .utf8)
        var checked = 0
        for script in Self.scripts {
            let name = URL(fileURLWithPath: script).lastPathComponent
            let marker = "(from `scripts/slurm/\(name)`)"
            let after = try #require(readme.range(of: marker), "README does not show \(name)")
            let rest = readme[after.upperBound...]
            let open = try #require(rest.range(of: "```bash\n"))
            let close = try #require(rest[open.upperBound...].range(of: "```"))
            let block = rest[open.upperBound..<close.lowerBound].split(separator: "\n").map(String.init).filter { $0 != "# …" }
            let file = try String(contentsOfFile: script, encoding: .utf8).split(separator: "\n").map(String.init)
            var at = 0
            for line in block {
                guard let found = file[at...].firstIndex(of: line) else {
                    Issue.record("README line not in \(name) (or out of order): \(line)")
                    break
                }
                at = found + 1
            }
            checked += block.count
        }
        #expect(checked > 10)
    }

    @Test(arguments: scripts)
    func parsesAndIsExecutable(_ script: String) throws {
        #expect(FileManager.default.isExecutableFile(atPath: script))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-n", script]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    /// Three shards run locally, one item broken, one listed item not run: the merge step (by
    /// hand, outside Slurm) merges and verifies, then exits 1 naming both; once both are done it
    /// exits 0, merging into a new name, and refuses an existing name.
    @Test func theMergeStepByHandNamesFailedAndMissingItems() throws {
        let c = try BatchCase(scans: 3)
        let good = try #require(bytes(c.scanPaths[0]))
        let broken = c.inputDir + "/sub-04_T1w.nii.gz", never = c.inputDir + "/sub-05_T1w.nii.gz"
        try good.prefix(100).write(to: URL(fileURLWithPath: broken))
        try good.write(to: URL(fileURLWithPath: never))
        let list = c.dir + "/scans.txt"
        let all = c.scanPaths + [broken, never]
        try all.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        let out = try c.out("out")
        // The first submission does not have sub-05 yet.
        let four = Array(all.dropLast())
        for k in 1...3 { _ = try c.batch(out, inputs: four, jobs: 1, shard: Shard(index: k, count: 3)).run() }

        let first = try merge(out: out, list: list, merged: out + "/m1.jsonl", in: c.dir)
        #expect(first.status == 1, "\(first.err)")
        #expect(first.out.contains("\(out)/m1.jsonl: intact (4 records"), "\(first.out)")
        let failedLines = first.err.split(separator: "\n").filter { $0.hasPrefix("stnreg: FAILED") }
        #expect(failedLines.count == 2, "\(first.err)")
        #expect(failedLines.contains { $0.contains("sub-04_T1w.nii.gz") } && failedLines.contains { $0.contains("sub-05_T1w.nii.gz (") && $0.contains("no record") })

        try good.write(to: URL(fileURLWithPath: broken))
        for k in 1...3 { _ = try c.batch(out, inputs: all, jobs: 1, shard: Shard(index: k, count: 3)).run() }
        let second = try merge(out: out, list: list, merged: out + "/m2.jsonl", in: c.dir)
        #expect(second.status == 0, "\(second.err)")
        #expect(second.out.hasSuffix("merged log: \(out)/m2.jsonl\n"), "\(second.out)")
        // Merging into an existing name is refused.
        let again = try merge(out: out, list: list, merged: out + "/m2.jsonl", in: c.dir)
        #expect(again.status != 0 && again.err.contains("already exists"), "\(again.err)")
    }

    private func merge(out: String, list: String, merged: String, in dir: String) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.scripts[1])
        p.arguments = [out, "3", list]
        var env = ProcessInfo.processInfo.environment
        env["STNREG"] = try stnregBinary()
        env["MERGED"] = merged
        env.removeValue(forKey: "SLURM_JOB_ID")
        p.environment = env
        let tag = URL(fileURLWithPath: merged).lastPathComponent
        _ = FileManager.default.createFile(atPath: dir + "/\(tag).out", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/\(tag).err", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: dir + "/\(tag).out")
        p.standardError = FileHandle(forWritingAtPath: dir + "/\(tag).err")
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: bytes(dir + "/\(tag).out") ?? Data(), as: UTF8.self),
                String(decoding: bytes(dir + "/\(tag).err") ?? Data(), as: UTF8.self))
    }
}
