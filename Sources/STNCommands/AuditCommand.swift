import ArgumentParser

/// `stnreg audit …`: check, summarise, show and merge audit logs.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, review, show and merge audit logs of transforms (stnreg-audit.jsonl).",
        discussion: """
        align and apply append one record per run (success or failure) to stnreg-audit.jsonl in \
        the output folder, or to --audit-log PATH. Each record carries the SHA-256 of the one \
        before it, so any change to the log shows up in `audit verify`.
        """,
        subcommands: [AuditVerifyCommand.self, AuditReviewCommand.self, AuditShowCommand.self,
                      AuditMergeCommand.self, AuditAppendTestCommand.self])
}
