import ArgumentParser

/// `stnreg audit …`: check, summarise, show, merge and sign audit logs.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, review, show, merge and sign audit logs of transforms (stnreg-audit.jsonl).",
        discussion: """
        align and apply append one record per run (success or failure) to stnreg-audit.jsonl in \
        the output folder, or to --audit-log PATH. Each record carries the SHA-256 of the one \
        before it, so a change inside the log shows up in `audit verify`; with a signing key \
        (`audit keygen`) each record is signed, and a head (`audit head`) kept elsewhere shows a \
        cut-off tail or a rewritten log.
        """,
        subcommands: [AuditVerifyCommand.self, AuditReviewCommand.self, AuditShowCommand.self,
                      AuditMergeCommand.self, AuditHeadCommand.self, AuditKeygenCommand.self, AuditAppendTestCommand.self])
}
