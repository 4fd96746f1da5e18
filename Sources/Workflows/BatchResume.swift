import AuditLog
import Foundation
import Hashing

/// Resume: which items of a batch are already done, judged from the log's last record of each
/// item (``BatchJob``, "Resume").
struct BatchResume: Sendable {
    /// The last record of each item, keyed by its absolute output prefix (`batch.prefix`).
    let previous: [String: AuditRecord]
    let toFrame: Int?
    /// SHA-256 of the atlas and of the protocol file now.
    let atlasSHA: String?
    let protocolSHA: String?

    /// The last record of each batch item (by `batch.prefix`) in the log; empty when there is no log yet.
    /// Throws when the log does not verify (nothing is appended to a damaged log).
    static func lastRecords(log: String) throws -> [String: AuditRecord] {
        guard FileManager.default.fileExists(atPath: log) else { return [:] }
        let check = try AuditVerifier.verify(path: log, checkOutputs: false)
        if let p = check.problems.first(where: { $0.kind.isDamage }) {
            throw BatchJob.BatchError("\(log): the audit log does not verify (line \(p.line): \(p.kind.rawValue): \(p.detail)); run `stnreg audit verify \(log)`, or give another --audit-log")
        }
        var last: [String: AuditRecord] = [:]
        for r in try AuditLogFile(path: log).readRecords() {
            if let prefix = r.fields["batch"]?["prefix"]?.string { last[prefix] = r }
        }
        return last
    }

    /// The `batch.kind` of the item's last record (`scan` or `series`).
    func previousKind(_ item: BatchJob.Item) -> String? {
        previous[AuditHook.absolute(item.prefix)]?.fields["batch"]?["kind"]?.string
    }

    /// Why the item counts as done (nil when it must run): its last record is `ok`, for the same
    /// input, atlas and protocol bytes, and every output it lists is there with its recorded hash.
    func doneBefore(_ item: BatchJob.Item) -> String? {
        guard let r = previous[AuditHook.absolute(item.prefix)], r.fields["status"]?.string == "ok" else { return nil }
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
        return "done before (\(r.fields["time"]?.string ?? "?"), log line \(r.line)); outputs verify"
    }
}
