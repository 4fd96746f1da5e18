import Foundation
import Hashing

/// `--shard K/N`: one of N disjoint parts of a batch, for a cluster's job array (DESIGN.md,
/// "Scale beyond one machine").
///
/// An item belongs to shard `1 + (h mod N)`, where `h` is the first 8 bytes (big-endian) of the
/// SHA-256 of the item's **file name** (UTF-8, no folder). The assignment therefore depends on
/// nothing but the name and N: not on the order of the inputs, not on the other items, not on
/// the folder the data are mounted at on a node. (Batch refuses two inputs with the same file
/// name, so names are unique keys.) Shards are numbered 1…N, like Slurm array indices
/// `--array=1-N`.
public struct Shard: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// 1-based shard number, `1...count`.
    public var index: Int
    /// Number of shards, at least 1.
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (1...count).contains(index), "shard \(index)/\(count) is out of range")
        self.index = index
        self.count = count
    }

    /// The error for a malformed `--shard` value.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var text: String
        public var description: String {
            "--shard '\(text)': expected K/N with 1 ≤ K ≤ N (e.g. --shard 2/8, or --shard $SLURM_ARRAY_TASK_ID/8 with --array=1-8)"
        }
    }

    /// Parses `K/N`.
    public static func parse(_ text: String) throws -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)), n >= 1, k >= 1, k <= n else {
            throw ParseError(text: text)
        }
        return Shard(index: k, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard number (`1...count`) of the item whose input path is `path`.
    public static func number(forInput path: String, count: Int) -> Int {
        precondition(count >= 1)
        let name = URL(fileURLWithPath: path).lastPathComponent
        let digest = SHA256.hex(name)
        let h = UInt64(digest.prefix(16), radix: 16)!
        return 1 + Int(h % UInt64(count))
    }

    /// True when the item whose input path is `path` belongs to this shard.
    public func contains(input path: String) -> Bool {
        Shard.number(forInput: path, count: count) == index
    }

    /// The shard's own audit log name: `stnreg-audit.shard-K-of-N.jsonl`.
    public var logName: String { "stnreg-audit.shard-\(index)-of-\(count).jsonl" }
}
