import ArgumentParser
import AuditLog

/// `stnreg audit head LOG`: a signed statement of the log's record count and last hash.
struct AuditHeadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head",
        abstract: "Print a signed head of an audit log (record count, last hash, time, key id) to keep outside the log.",
        discussion: """
        Keep the head where the log's writer cannot change it (a notebook, another machine, a \
        ticket, a git commit); later `audit verify LOG --expect-head HEAD` proves the log still \
        holds exactly those records, and says how many were appended since. The log must verify \
        first. For a merged log the head lists each shard's chain.
        """)

    @Argument(help: "Audit log (JSON Lines).")
    var log: String

    @Flag(help: "Print the one-line form instead of JSON.")
    var line = false

    @Option(name: [.short, .customLong("output")], help: "Also write the head's JSON to this new file.")
    var output: String?

    @Option(help: "Before taking the head, check every record's signature against these public keys.")
    var trustedKeys: String?

    @OptionGroup var signing: SigningOptions

    func run() throws {
        let signer = try signing.signer()
        let keys = try trustedKeys.map(AuditTrustedKeys.load)
        let head = try AuditHead.of(log: log, signer: signer, trustedKeys: keys)
        if let output {
            try head.write(to: output)
            printError("wrote \(output)")
        }
        print(line ? head.line : head.json)
        if signer == nil {
            printError("note: the head is unsigned (no --signing-key, $STNREG_SIGNING_KEY or config file): it proves what the log held only while it is kept out of the writer's reach")
        }
    }
}
