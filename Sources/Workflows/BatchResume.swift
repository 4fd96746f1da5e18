import AuditLog
import Foundation
import Hashing
import VolumeCore

/// Resume: which items of a batch are already done, judged from the last record of each item
/// (``BatchJob``, "Resume").
struct BatchResume: Sendable {
    /// The last record of an item and the log it is in.
    struct Previous: Sendable {
        var record: AuditRecord
        /// nil: the batch's own log.
        var otherLog: String?
    }

    /// The last record of each item, keyed by its absolute output prefix (`batch.prefix`).
    let previous: [String: Previous]
    let toFrame: Int?
    /// SHA-256 of the atlas and of the protocol file now.
    let atlasSHA: String?
    let protocolSHA: String?

    /// The last record of each batch item (by `batch.prefix`) in the log; empty when there is no log yet.
    /// Throws when the log does not verify (nothing is appended to a damaged log).
    ///
    /// `otherLogs` (the other shard logs of the output folder, for a sharded batch) are read as
    /// they are — another task may be appending to them, and they are verified when merged —
    /// skipping lines that are not complete records; a record there replaces the own log's last
    /// record of the item only when its `time` is later.
    static func lastRecords(log: String, otherLogs: [String] = []) throws -> [String: Previous] {
        var last: [String: Previous] = [:]
        if FileManager.default.fileExists(atPath: log) {
            let check = try AuditVerifier.verify(path: log, checkOutputs: false)
            if let p = check.problems.first(where: { $0.kind.isDamage }) {
                throw BatchJob.BatchError("\(log): the audit log does not verify (line \(p.line): \(p.kind.rawValue): \(p.detail)); run `stnreg audit verify \(log)`, or give another --audit-log")
            }
            for r in try AuditLogFile(path: log).readRecords() {
                if let prefix = r.fields["batch"]?["prefix"]?.string { last[prefix] = Previous(record: r, otherLog: nil) }
            }
        }
        for other in otherLogs {
            var latest: [String: AuditRecord] = [:]
            for line in (try? AuditLogFile(path: other).readLines()) ?? [] where line.complete {
                guard case .success(let r) = line.record, let prefix = r.fields["batch"]?["prefix"]?.string else { continue }
                latest[prefix] = r
            }
            for (prefix, r) in latest {
                let time = r.fields["time"]?.string ?? ""
                if let mine = last[prefix], (mine.record.fields["time"]?.string ?? "") >= time { continue }
                last[prefix] = Previous(record: r, otherLog: other)
            }
        }
        return last
    }

    /// The other shard logs in `folder` (``Shard/isLogName(_:)``) besides `log`, sorted.
    static func otherShardLogs(in folder: String, besides log: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let own = AtomicFile.canonical(log)
        return names.filter(Shard.isLogName).sorted()
            .map { (folder as NSString).appendingPathComponent($0) }
            .filter { AtomicFile.canonical($0) != own }
    }

    /// The `batch.kind` of the item's last record (`scan` or `series`).
    func previousKind(_ item: BatchJob.Item) -> String? {
        previous[AuditHook.absolute(item.prefix)]?.record.fields["batch"]?["kind"]?.string
    }

    /// Why the item counts as done (nil when it must run): its last record is `ok`, for the same
    /// input, atlas and protocol bytes, and every output it lists is there with its recorded hash.
    func doneBefore(_ item: BatchJob.Item) -> String? {
        guard let found = previous[AuditHook.absolute(item.prefix)], found.record.fields["status"]?.string == "ok" else { return nil }
        let r = found.record
        let inputs = r.fields["inputs"]?.array ?? []
        func sha(_ role: String) -> String? { inputs.first { $0["role"]?.string == role }?["sha256"]?.string }
        guard let inputSHA = sha("scan"), inputSHA == (try? SHA256.hex(ofFile: item.input)) else { return nil }
        if toFrame == nil {
            guard let a = sha("atlas"), a == atlasSHA else { return nil }
        }
        guard let p = r.fields["protocol"]?["sha256"]?.string, p == protocolSHA else { return nil }
        guard let outputs = r.fields["outputs"]?.array, !outputs.isEmpty else { return nil }
        for o in outputs {
            guard let path = o["path"]?.string, let recorded = o["sha256"]?.string,
                  let now = try? SHA256.hex(ofFile: path), now == recorded else { return nil }
        }
        let place = found.otherLog.map { "\(URL(fileURLWithPath: $0).lastPathComponent) line \(r.line)" } ?? "log line \(r.line)"
        return "done before (\(r.fields["time"]?.string ?? "?"), \(place)); outputs verify"
    }
}
