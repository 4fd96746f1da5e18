import AtomicFiles
import Foundation

/// Joins shard logs (one per batch shard or cluster node) into one chain.
///
/// Every shard must verify (chain and records; outputs are not re-hashed, they may live on
/// other machines). Records are ordered by their `time` string, then `id`, then original hash,
/// and re-chained from ``AuditChain/genesis``. Each merged record keeps its provenance:
/// - `sourceHash`: its hash in the shard;
/// - `sourcePrev`: its `prev` in the shard, so `sourceHash` can be recomputed from the record;
/// - `sourceShard`: `{"path": shard log as given, "line": line number there}`;
/// - `sourceSignature`: its `signature` in the shard (signed shards only), over `sourceHash`;
///   its `signedBy` stays as it was (the source hash covers it).
/// A record that already carries them (merging merged logs) keeps its first provenance.
/// The merged records are not signed again: each keeps its shard's signature, and the merged
/// chain as a whole is pinned by the merged head (``AuditHead``, with every shard's chain),
/// signed by the merger's key when one is given.
public enum AuditMerge {
    /// What a merge wrote.
    public struct Merged: Sendable {
        public var records: Int
        /// The merged log's head (signed when a signer was given), listing each shard chain.
        public var head: AuditHead
    }

    /// Merges `shards` into a new log at `output` (which must not exist); returns the record count.
    @discardableResult
    public static func merge(shards: [String], into output: String) throws -> Int {
        try merge(shards: shards, into: output, trustedKeys: nil, signer: nil).records
    }

    /// Merges `shards` into a new log at `output` (which must not exist). With `trustedKeys`,
    /// every shard must also verify against them (each record signed by a trusted key); the
    /// merged head is signed by `signer` when given.
    @discardableResult
    public static func merge(shards: [String], into output: String, trustedKeys: AuditTrustedKeys?, signer: AuditSigner?) throws -> Merged {
        guard !shards.isEmpty else { throw AuditLogError(path: output, problem: "no shard logs to merge") }
        guard !FileManager.default.fileExists(atPath: output) else {
            throw AuditLogError(path: output, problem: "the merged log already exists; choose a new name (logs are never overwritten)")
        }
        var items: [(time: String, id: String, hash: String, payload: [String: AuditValue])] = []
        var seen: [String: String] = [:]
        for shard in shards {
            let check = try AuditVerifier.verify(path: shard, checkOutputs: false, trustedKeys: trustedKeys)
            if let p = check.problems.first(where: { $0.kind.isDamage }) {
                throw AuditLogError(path: shard, line: p.line,
                                    problem: "\(p.kind.rawValue): \(p.detail); the shard does not verify, so it is not merged (\(check.problems.count) problem(s); run `stnreg audit verify \(shard)`)")
            }
            for r in try AuditLogFile(path: shard).readRecords() {
                var payload = r.payload
                if let signer = r.signedBy { payload["signedBy"] = .string(signer) }
                if payload["sourceHash"] == nil {
                    payload["sourceHash"] = .string(r.hash)
                    payload["sourcePrev"] = .string(r.prev)
                    payload["sourceShard"] = ["path": .string(shard), "line": .int(Int64(r.line))]
                    if let sig = r.signature { payload["sourceSignature"] = .string(sig) }
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
        var merged: [AuditRecord] = []
        for item in items {
            let sealed = AuditChain.seal(item.payload, prev: prev)
            out += sealed.line
            out.append(0x0A)
            var fields = item.payload
            fields["prev"] = .string(prev)
            fields["hash"] = .string(sealed.hash)
            merged.append(AuditRecord(line: merged.count + 1, fields: fields))
            prev = sealed.hash
        }
        let head: AuditHead
        do { head = try AuditHead.of(merged, signer: signer) } catch {
            throw AuditLogError(path: output, problem: "cannot sign the merged head: \(error)")
        }
        try writeNew(Data(out), to: output)
        return Merged(records: items.count, head: head)
    }

    /// Writes a new file via a temporary name in the same folder, flushed, then linked into place
    /// (`link` fails when `path` exists, so a concurrent writer is never overwritten).
    static func writeNew(_ data: Data, to path: String, what: String = "the merged log") throws {
        let tmp = AtomicFile.temporaryPath(for: path)
        guard FileManager.default.createFile(atPath: tmp, contents: data),
              let handle = FileHandle(forUpdatingAtPath: tmp) else {
            throw AuditLogError(path: path, problem: "cannot create \(what) (does the folder exist and is it writable?)")
        }
        defer { unlink(tmp) }
        try? handle.synchronize()
        try? handle.close()
        guard link(tmp, path) == 0 else {
            let why = errno == EEXIST ? "it already exists; choose a new name (nothing is overwritten)" : String(cString: strerror(errno))
            throw AuditLogError(path: path, problem: "cannot create \(what): \(why)")
        }
    }
}
