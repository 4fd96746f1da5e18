import ArgumentParser
import AuditLog
import Foundation

/// `stnreg audit merge LOG… -o LOG`: join shard logs into one chain and write its head.
struct AuditMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Verify shard audit logs and join them into one new chain, ordered by time then id; write its head.",
        discussion: """
        Each merged record keeps its shard hash (sourceHash, sourcePrev), origin (sourceShard: \
        path and line) and shard signature (signedBy, sourceSignature), which `audit verify` \
        re-checks. A shard that does not verify (with --trusted-keys: also its signatures) is \
        refused. The merged head (every shard's record count and last hash; signed with the \
        signing key when there is one) goes to --head; keep a copy out of the log writer's reach.
        """)

    @Argument(help: "Shard logs.")
    var shards: [String]

    @Option(name: [.short, .customLong("output")], help: "The merged log to create (must not exist).")
    var output: String

    @Option(help: "The merged head to create (default: OUTPUT with .jsonl replaced by .head.json).")
    var head: String?

    @Option(help: "Refuse shards whose records are not all signed by one of these public keys.")
    var trustedKeys: String?

    @OptionGroup var signing: SigningOptions

    var headPath: String {
        head ?? (output.hasSuffix(".jsonl") ? String(output.dropLast(6)) : output) + ".head.json"
    }

    func run() throws {
        let signer = try signing.signer()
        let keys = try trustedKeys.map(AuditTrustedKeys.load)
        if FileManager.default.fileExists(atPath: headPath) {
            throw AuditLogError(path: headPath, problem: "the head file already exists; choose a new name with --head (nothing is overwritten)")
        }
        let merged = try AuditMerge.merge(shards: shards, into: output, trustedKeys: keys, signer: signer)
        try merged.head.write(to: headPath)
        print("merged \(merged.records) records from \(shards.count) logs into \(output)")
        printError("wrote the merged head to \(headPath) (\(signer.map { "signed by key \($0.keyID)" } ?? "unsigned")); keep a copy where the log's writer cannot change it")
    }
}
