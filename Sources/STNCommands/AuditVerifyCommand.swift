import ArgumentParser
import AuditLog

/// `stnreg audit verify LOG`: walk the chain and re-hash the outputs.
struct AuditVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an audit log's hash chain and re-hash the output files still on disk.",
        discussion: """
        Reports each edited, deleted, reordered or inserted record, a torn last line, and each \
        changed or missing output, as LOG:LINE: KIND: DETAIL. Exit status 0 only when the log is intact.
        """)

    @Argument(help: "Audit log (JSON Lines).")
    var log: String

    @Flag(help: "Check the chain only; do not re-hash output files.")
    var skipOutputs = false

    func run() throws {
        let v = try AuditVerifier.verify(path: log, checkOutputs: !skipOutputs)
        for p in v.problems { print("\(log):\(p.line): \(p.kind.rawValue): \(p.detail)") }
        let summary = "\(v.lineCount) records, \(v.outputsChecked) output files re-hashed"
        if v.isIntact {
            print("\(log): intact (\(summary))")
        } else {
            let damage = v.problems.filter { $0.kind.isDamage }.count
            print("\(log): NOT intact: \(damage) problem(s) (\(summary))")
            throw ExitCode.failure
        }
    }
}
