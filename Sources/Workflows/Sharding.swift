import Foundation

/// `--shard K/N`: one of N disjoint parts of a batch, for a cluster's job array (DESIGN.md,
/// "Scale beyond one machine").
///
/// **Assignment.** The items' **file names** (no folder; batch refuses two inputs with the same
/// file name, so names are unique keys) are sorted by their UTF-8 bytes and dealt round-robin:
/// the name of rank r (0-based) goes to shard `1 + (r mod N)`. So the assignment depends only on
/// the *set* of names and N — not on the order of the inputs, nor on the folder the data are
/// mounted at on a node — and every shard gets ⌊n/N⌋ or ⌈n/N⌉ of the n items. Shards are
/// numbered 1…N, like Slurm array indices `--array=1-N`.
///
/// **When the list changes** between submissions (items added or removed), ranks shift and items
/// may move to another shard. Nothing is done twice: a sharded batch consults the logs of every
/// shard in the output folder when deciding what is done (``BatchJob``, "Resume"), so an item
/// finished under another shard number is skipped by its record.
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

    /// The shard number (`1...count`) of each of `paths`, in the order given: the file names
    /// sorted by UTF-8 bytes and dealt round-robin. (Equal names, which batch refuses, keep their
    /// input order among themselves.)
    public static func numbers(forInputs paths: [String], count: Int) -> [Int] {
        precondition(count >= 1)
        let names = paths.map { Array(URL(fileURLWithPath: $0).lastPathComponent.utf8) }
        let order = names.indices.sorted { a, b in
            names[a] == names[b] ? a < b : names[a].lexicographicallyPrecedes(names[b])
        }
        var numbers = Array(repeating: 0, count: paths.count)
        for (rank, i) in order.enumerated() { numbers[i] = 1 + rank % count }
        return numbers
    }

    /// Which of `paths` belong to this shard, in the order given.
    public func members(of paths: [String]) -> [Bool] {
        Shard.numbers(forInputs: paths, count: count).map { $0 == index }
    }

    /// True for a shard log's file name (`stnreg-audit.shard-K-of-N.jsonl`, any K and N).
    public static func isLogName(_ name: String) -> Bool {
        name.range(of: #"^stnreg-audit\.shard-[0-9]+-of-[0-9]+\.jsonl$"#, options: .regularExpression) != nil
    }

    /// The shard's own audit log name: `stnreg-audit.shard-K-of-N.jsonl`.
    public var logName: String { "stnreg-audit.shard-\(index)-of-\(count).jsonl" }
}
