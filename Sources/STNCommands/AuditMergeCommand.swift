import ArgumentParser
import AuditLog

/// `stnreg audit merge LOG… -o LOG`: join shard logs into one chain.
struct AuditMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Verify shard audit logs and join them into one new chain, ordered by time then id.",
        discussion: """
        Each merged record keeps its shard hash (sourceHash, sourcePrev) and origin (sourceShard: \
        path and line), which `audit verify` re-checks. A shard that does not verify is refused.
        """)

    @Argument(help: "Shard logs.")
    var shards: [String]

    @Option(name: [.short, .customLong("output")], help: "The merged log to create (must not exist).")
    var output: String

    func run() throws {
        let n = try AuditMerge.merge(shards: shards, into: output)
        print("merged \(n) records from \(shards.count) logs into \(output)")
    }
}
