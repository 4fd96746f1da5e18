import Foundation
import FuzzSupport
import NIfTIIO
import Registration
import VolumeCore

// MARK: - Report

struct Tally {
    var inputs = 0
    var accepted = 0
    var kinds: [String: Int] = [:]
    var findings: [(Int, String, [String])] = []
    var slow: [(Int, Double, [String])] = []
    var slowest = (index: -1, seconds: 0.0)
    var rssJumps: [(Int, Int, Int)] = []   // index, bytes of growth, input size

    mutating func add(_ o: FuzzOutcome, index: Int, seconds: Double, recipe: [String], budget: Double) {
        inputs += 1
        switch o {
        case .accepted: accepted += 1
        case .rejected(let k): kinds[k, default: 0] += 1
        case .finding(let f): findings.append((index, f, recipe))
        }
        if seconds > slowest.seconds { slowest = (index, seconds) }
        if seconds > budget { slow.append((index, seconds, recipe)) }
    }

    func report(_ title: String, seconds: Double, startRSS: Int, limit: Int?) -> String {
        var s = "stnfuzz \(title): \(inputs) inputs in \(String(format: "%.1f", seconds)) s (\(String(format: "%.0f", Double(inputs) / max(seconds, 1e-9))) per second)\n"
        s += "  accepted: \(accepted)\n  rejected: \(inputs - accepted - findings.count) in \(kinds.count) kinds\n"
        for (k, n) in kinds.sorted(by: { $0.value > $1.value }).prefix(15) { s += "    \(k): \(n)\n" }
        let rss = FuzzFiles.maxRSSBytes()
        s += "  max RSS: \(rss >> 20) MiB (\(startRSS >> 20) MiB after loading the seeds)\n"
        s += "  slowest input: #\(slowest.index), \(String(format: "%.3f", slowest.seconds)) s; over budget: \(slow.count)\n"
        for (n, sec, r) in slow.prefix(10) { s += "    #\(n) \(String(format: "%.2f", sec)) s: \(r.joined(separator: "; "))\n" }
        if let limit {
            s += "  RSS jumps > 16 MiB: \(rssJumps.count)\n"
            for (n, g, size) in rssJumps.prefix(10) { s += "    #\(n): +\(g >> 20) MiB from a \(size)-byte input\n" }
            s += "  over-limit allocations (RSS above start + 2 × \(limit >> 20) MiB + 64 MiB): \(rss > startRSS + 2 * limit + (64 << 20) ? "YES" : "none")\n"
        }
        s += "  findings: \(findings.count)\n"
        for (n, f, r) in findings.prefix(20) { s += "    #\(n): \(f)\n      \(r.joined(separator: "; "))\n" }
        return s
    }
}

// MARK: - Seeds

/// Decompresses a .nii.gz with the system gzip (seed loading only).
func gunzip(_ path: String) -> [UInt8]? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-dc", path]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return p.terminationStatus == 0 ? [UInt8](data) : nil
}

func fileSeeds(in dir: String) -> [NIfTISeed] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    var out: [NIfTISeed] = []
    for name in names where name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") {
        let path = dir + "/" + name
        guard let stored = FileManager.default.contents(atPath: path).map({ [UInt8]($0) }) else { continue }
        let gz = stored.count >= 2 && stored[0] == 0x1f && stored[1] == 0x8b
        let raw = gz ? gunzip(path) : stored
        guard let raw, raw.count >= 352 else { continue }
        out.append(NIfTISeed(name: name.replacingOccurrences(of: ".nii.gz", with: "").replacingOccurrences(of: ".nii", with: ""),
                             raw: raw, stored: stored, compressed: gz))
    }
    return out
}

func repositoryRoot() -> String? {
    var url = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    for _ in 0..<6 {
        if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
        url.deleteLastPathComponent()
    }
    return nil
}

func makeWorkDirectory() -> String {
    let dir = NSTemporaryDirectory() + "/stnfuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
