// stnfuzz: seeded mutation fuzzing of stnreg's file readers, in process.
//
//   stnfuzz nifti     --seed S --count N [--seconds T] [--corpus DIR] [--save-failures DIR]
//                     [--max-voxel-bytes B] [--budget SEC] [--hang SEC] [--no-testvolumes] [--write-corpus DIR]
//   stnfuzz protocol  --seed S --count N [--seconds T] [--save-failures DIR]
//   stnfuzz transform --seed S --count N [--seconds T] [--save-failures DIR]
//   stnfuzz replay FILE...   (reads each file with every NIfTI entry point; prints the outcome)
//
// Input n of a run is a pure function of (seed, n): `--seed S --start n --count 1 --save-failures D`
// writes it again. A crash (trap, signal) ends the process; the input being read is then at
// the path printed at start (and hard-linked into --save-failures). A watchdog ends the run
// when one input takes longer than --hang seconds (a hang), after saving it.
// Exit status: 0 clean, 1 findings, 2 usage, 3 hang.

import Foundation
import FuzzSupport
import NIfTIIO
import Registration
import VolumeCore

// MARK: - Crash and hang handling

/// Paths (C strings) for the signal handler: the current input and where to link it.
nonisolated(unsafe) var crashInput: UnsafeMutablePointer<CChar>? = nil
nonisolated(unsafe) var crashSave: UnsafeMutablePointer<CChar>? = nil
/// The process's real standard error (fd 2 itself is redirected to a file to catch library prints).
nonisolated(unsafe) var realStderr: Int32 = 2

/// Sends fd 2 to `file` so that anything a library prints is noticed; returns a function giving
/// the number of bytes printed so far.
func captureStderr(into file: String) -> () -> Int {
    realStderr = dup(2)
    let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    dup2(fd, 2)
    close(fd)
    return { Int(lseek(2, 0, SEEK_CUR)) }
}

func installCrashHandlers() {
    for sig in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT] {
        signal(sig) { s in
            // Async-signal-safe only: link the input, restore the default action, re-raise.
            if let from = crashInput, let to = crashSave { _ = link(from, to) }
            let msg = "stnfuzz: fatal signal while reading an input (see the path printed at start)\n"
            _ = msg.withCString { write(realStderr, $0, strlen($0)) }
            signal(s, SIG_DFL)
            raise(s)
        }
    }
}

/// What the run is doing now, for the watchdog.
final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private var index = -1
    private var started = 0.0
    private var recipe: [String] = []
    private var file = ""

    func begin(_ n: Int, _ r: [String], file f: String = "") { lock.lock(); index = n; started = now(); recipe = r; file = f; lock.unlock() }
    var inputFile: String { lock.lock(); defer { lock.unlock() }; return file }
    func end() { lock.lock(); index = -1; lock.unlock() }
    func current() -> (Int, Double, [String]) { lock.lock(); defer { lock.unlock() }; return (index, index < 0 ? 0 : now() - started, recipe) }
}

/// Prints one line (or block) to standard output at once, unbuffered.
func say(_ text: String, terminator: String = "\n") {
    FileHandle.standardOutput.write(Data((text + terminator).utf8))
}

/// Seconds since the fuzzer started (differences of it time the runs).
let processClock = Stopwatch()
func now() -> Double { processClock.total }

func startWatchdog(_ p: Progress, hang: Double, save: String?) {
    let t = Thread {
        while true {
            Thread.sleep(forTimeInterval: 0.5)
            let (n, elapsed, recipe) = p.current()
            if n >= 0 && elapsed > hang {
                var text = "stnfuzz: HANG: input \(n) has run for \(String(format: "%.1f", elapsed)) s (limit \(hang) s): \(recipe.joined(separator: "; "))\n"
                if let save, !p.inputFile.isEmpty {
                    let dest = save + "/hang-\(n)" + (p.inputFile.hasSuffix(".gz") ? ".nii.gz" : ".nii")
                    _ = link(p.inputFile, dest)
                    text += "stnfuzz: saved as \(dest)\n"
                }
                _ = text.withCString { write(realStderr, $0, strlen($0)) }
                exit(3)
            }
        }
    }
    t.start()
}

// MARK: - Runs

func runNIfTI(_ o: Options) -> Int32 {
    var seeds = NIfTISeeds.builtIn()
    for dir in o.corpus { seeds += fileSeeds(in: dir) }
    if o.testVolumes, let root = repositoryRoot() { seeds += fileSeeds(in: root + "/TestVolumes") }
    let mutator = NIfTIMutator(seeds: seeds)
    let target = NIfTIFuzzTarget(maxVoxelBytes: o.maxVoxelBytes)
    let work = makeWorkDirectory()
    let paths = [".nii": work + "/input.nii", ".nii.gz": work + "/input.nii.gz"]
    let cPaths = paths.mapValues { strdup($0)! }
    if let save = o.saveFailures {
        try? FileManager.default.createDirectory(atPath: save, withIntermediateDirectories: true)
    }
    let cSaves = paths.keys.reduce(into: [String: UnsafeMutablePointer<CChar>]()) { d, ext in
        if let save = o.saveFailures { d[ext] = strdup(save + "/crash-seed\(o.seed)-pid\(getpid())\(ext)") }
    }
    installCrashHandlers()
    let printed = captureStderr(into: work + "/stderr.log")
    let progress = Progress()
    startWatchdog(progress, hang: o.hang, save: o.saveFailures)
    say("stnfuzz nifti: seed \(o.seed), \(seeds.count) seeds, inputs from \(o.start), limit \(o.maxVoxelBytes >> 20) MiB; inputs are written to \(work)/input.nii[.gz]")

    var tally = Tally()
    var firstOfKind: [String: (Int, FuzzInput)] = [:]
    let startRSS = FuzzFiles.maxRSSBytes()
    var lastRSS = startRSS
    let begin = now()
    var n = o.start
    while n < o.start + o.count {
        if let limit = o.seconds, now() - begin > limit { break }
        let input = mutator.input(seed: o.seed, index: n)
        let path = paths[input.fileExtension]!
        crashInput = cPaths[input.fileExtension]!
        crashSave = cSaves[input.fileExtension]
        let entry = NIfTIFuzzTarget.Entry(rawValue: n % 3)!
        progress.begin(n, input.recipe + ["\(entry)"], file: path)
        let t0 = now()
        let before = printed()
        var outcome = target.run(bytes: input.bytes, at: path, entry: entry)
        let dt = now() - t0
        if printed() != before, !outcome.isFinding { outcome = .finding("the reader printed to stderr (\(outcome))") }
        progress.end()
        tally.add(outcome, index: n, seconds: dt, recipe: input.recipe + ["\(entry)"], budget: o.budget)
        let rss = FuzzFiles.maxRSSBytes()
        if rss - lastRSS > 16 << 20 { tally.rssJumps.append((n, rss - lastRSS, input.bytes.count)) }
        lastRSS = rss
        if case .rejected(let k) = outcome, firstOfKind[k] == nil { firstOfKind[k] = (n, input) }
        if let save = o.saveFailures, outcome.isFinding || dt > o.budget {
            let stem = save + "/\(outcome.isFinding ? "finding" : "slow")-seed\(o.seed)-\(n)"
            _ = FuzzFiles.write(input.bytes, to: stem + input.fileExtension)
            try? (input.recipe.joined(separator: "\n") + "\n\(outcome)\n").write(toFile: stem + ".txt", atomically: true, encoding: .utf8)
        }
        n += 1
    }
    let seconds = now() - begin
    say(tally.report("nifti", seconds: seconds, startRSS: startRSS, limit: o.maxVoxelBytes), terminator: "")
    if let dir = o.writeCorpus {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // A few built-in seeds (read cleanly) and the first input of every rejection kind.
        let builtIn = NIfTISeeds.builtIn().filter { s in
            ["v1-le-f32-3d", "v1-be-i16-3d", "v2-le-u8-3d", "v2-be-f64-3d", "v1-le-f32-4d-oblique-scaled", "v2-le-i16-extension-pixdim",
             "v1-le-u16-3d", "v2-be-i8-3d", "v1-le-u32-3d", "v2-le-i32-3d"].contains(s.name)
        }
        for s in builtIn { _ = FuzzFiles.write(s.stored, to: dir + "/ok-\(s.name)\(s.fileExtension)") }
        for (k, (idx, input)) in firstOfKind.sorted(by: { $0.key < $1.key }) {
            _ = FuzzFiles.write(input.bytes, to: dir + "/\(k)-seed\(o.seed)-\(idx)\(input.fileExtension)")
        }
        say("  corpus: \(builtIn.count) seeds and \(firstOfKind.count) rejected inputs written to \(dir)")
    }
    try? FileManager.default.removeItem(atPath: work)
    if !tally.findings.isEmpty || tally.rssJumps.contains(where: { $0.1 > 2 * o.maxVoxelBytes }) { return 1 }
    return 0
}

func runText(_ o: Options) -> Int32 {
    let work = makeWorkDirectory()
    var tally = Tally()
    let begin = now()
    let startRSS = FuzzFiles.maxRSSBytes()
    let mutator: TextMutator
    let run: (String, [UInt8], Int) -> FuzzOutcome
    switch o.command {
    case "protocol":
        guard let root = repositoryRoot() else { usage("run from the repository (Protocols/ is needed)") }
        // The shipped presets (Protocols/ may hold other JSON too, e.g. training checkpoints).
        let names = RegistrationProtocol.builtInNames.map { $0 + ".json" }
        mutator = TextMutator(seeds: names.compactMap { n in FileManager.default.contents(atPath: root + "/Protocols/" + n).map { (n, [UInt8]($0)) } })
        let target = ProtocolFuzzTarget()
        run = { _, bytes, _ in target.run(bytes, file: work + "/protocol.json") }
    default:
        let target = TransformFuzzTarget()
        do { mutator = TextMutator(seeds: try target.seeds()) } catch { usage("cannot build transform seeds: \(error)") }
        run = { name, bytes, n in
            target.run(bytes, seedName: name, file: work + "/transform-" + name, jsonPath: work + "/transform.json", force: n % 2 == 0)
        }
    }
    let progress = Progress()
    startWatchdog(progress, hang: o.hang, save: nil)
    var n = o.start
    while n < o.start + o.count {
        if let limit = o.seconds, now() - begin > limit { break }
        let input = mutator.input(seed: o.seed, index: n)
        progress.begin(n, input.recipe)
        let t0 = now()
        let outcome = run(input.name, input.bytes, n)
        progress.end()
        tally.add(outcome, index: n, seconds: now() - t0, recipe: input.recipe, budget: o.budget)
        if let save = o.saveFailures, outcome.isFinding {
            try? FileManager.default.createDirectory(atPath: save, withIntermediateDirectories: true)
            _ = FuzzFiles.write(input.bytes, to: save + "/finding-\(o.command)-seed\(o.seed)-\(n)-\(input.name)")
        }
        n += 1
    }
    say(tally.report(o.command, seconds: now() - begin, startRSS: startRSS, limit: nil), terminator: "")
    try? FileManager.default.removeItem(atPath: work)
    return tally.findings.isEmpty ? 0 : 1
}

func replay(_ o: Options) -> Int32 {
    let target = NIfTIFuzzTarget(maxVoxelBytes: o.maxVoxelBytes)
    var status: Int32 = 0
    for f in o.files {
        for e in NIfTIFuzzTarget.Entry.allCases {
            let r = target.read(f, entry: e)
            if r.isFinding { status = 1 }
            say("\(f) [\(e)]: \(r)")
        }
    }
    return status
}

let options = parse(Array(CommandLine.arguments.dropFirst()))
switch options.command {
case "nifti": exit(runNIfTI(options))
case "protocol", "transform": exit(runText(options))
case "replay": exit(replay(options))
default: usage("unknown subcommand \(options.command)")
}
