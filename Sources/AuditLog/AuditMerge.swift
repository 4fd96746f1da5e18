import Foundation

/// Joins shard logs (one per batch shard or cluster node) into one chain.
///
/// Every shard must verify (chain and records; outputs are not re-hashed, they may live on
/// other machines). Records are ordered by their `time` string, then `id`, then original hash,
/// and re-chained from ``AuditChain/genesis``. Each merged record keeps its provenance:
/// - `sourceHash`: its hash in the shard;
/// - `sourcePrev`: its `prev` in the shard, so `sourceHash` can be recomputed from the record;
/// - `sourceShard`: `{"path": shard log as given, "line": line number there}`.
/// A record that already carries them (merging merged logs) keeps its first provenance.
public enum AuditMerge {
    /// Merges `shards` into a new log at `output` (which must not exist); returns the record count.
    @discardableResult
    public static func merge(shards: [String], into output: String) throws -> Int {
        guard !shards.isEmpty else { throw AuditLogError(path: output, problem: "no shard logs to merge") }
        guard !FileManager.default.fileExists(atPath: output) else {
            throw AuditLogError(path: output, problem: "the merged log already exists; choose a new name (logs are never overwritten)")
        }
        var items: [(time: String, id: String, hash: String, payload: [String: AuditValue])] = []
        var seen: [String: String] = [:]
        for shard in shards {
            let check = try AuditVerifier.verify(path: shard, checkOutputs: false)
            if let p = check.problems.first(where: { $0.kind.isDamage }) {
                throw AuditLogError(path: shard, line: p.line,
                                    problem: "\(p.kind.rawValue): \(p.detail); the shard does not verify, so it is not merged (\(check.problems.count) problem(s); run `stnreg audit verify \(shard)`)")
            }
            for r in try AuditLogFile(path: shard).readRecords() {
                var payload = r.payload
                if payload["sourceHash"] == nil {
                    payload["sourceHash"] = .string(r.hash)
                    payload["sourcePrev"] = .string(r.prev)
                    payload["sourceShard"] = ["path": .string(shard), "line": .int(Int64(r.line))]
                }
                let origin = payload["sourceHash"]!.string ?? r.hash
                if let other = seen[origin] {
                    throw AuditLogError(path: shard, line: r.line,
                                        problem: "this record is also in \(other); a shard was given twice or shards overlap")
                }
                seen[origin] = "\(shard) line \(r.line)"
                items.append((payload["time"]?.string ?? "", payload["id"]?.string ?? "", origin, payload))
            }
        }
        items.sort { ($0.time, $0.id, $0.hash) < ($1.time, $1.id, $1.hash) }
        var out: [UInt8] = []
        var prev = AuditChain.genesis
        for item in items {
            let sealed = AuditChain.seal(item.payload, prev: prev)
            out += sealed.line
            out.append(0x0A)
            prev = sealed.hash
        }
        try writeNew(Data(out), to: output)
        return items.count
    }

    /// Writes a new file via a temporary name in the same folder, flushed, then linked into place
    /// (`link` fails when `path` exists, so a concurrent writer is never overwritten).
    static func writeNew(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: data),
              let handle = FileHandle(forUpdatingAtPath: tmp) else {
            throw AuditLogError(path: path, problem: "cannot create the merged log (does the folder exist and is it writable?)")
        }
        defer { unlink(tmp) }
        try? handle.synchronize()
        try? handle.close()
        guard link(tmp, path) == 0 else {
            throw AuditLogError(path: path, problem: "cannot create the merged log: \(String(cString: strerror(errno)))")
        }
    }
}
