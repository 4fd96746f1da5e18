import ArgumentParser
import AuditLog
import Foundation
import Workflows

extension AuditReview.FailOn: ExpressibleByArgument {}

/// `stnreg audit review LOG`: table, outliers, HTML page with quick-look images.
struct AuditReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Summarise an audit log: a table, flagged runs and outliers, optionally an HTML page with images.",
        discussion: """
        A row is flagged when the run failed, carries quality flags, breaks the protocol's limits \
        (flip, extreme scale or shear, low final similarity), or when a decomposed parameter is \
        an outlier in the log (robust z-score |z| > 3.5). \
        --fail-on failed|flagged answers "did every item succeed?": exit 1, with one line per \
        failing item on standard error, when the latest record of any item (a batch item, or a \
        scan and atlas) failed, or is flagged; with --items LIST, a listed input without any \
        record fails too.
        """)

    @Argument(help: "Audit log (JSON Lines).")
    var log: String

    @Flag(help: "Show only flagged records.")
    var flagged = false

    @Option(help: "Show only records at or after this UTC date or time (YYYY-MM-DD or ISO 8601).")
    var since: String?

    @Option(help: "Show only records whose scan path contains this text.")
    var scan: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Write an HTML page (index.html) with quick-look PNG images into this folder.")
    var html: String?

    @Option(name: .customLong("fail-on"), help: "Exit 1, listing the items, when any item's latest record failed, or is flagged.")
    var failOn: AuditReview.FailOn?

    @Option(name: .customLong("items"), help: "With --fail-on: the batch's inputs (list file, folder or glob); a listed input with no record fails.")
    var items: String?

    func validate() throws {
        if let s = since, s.range(of: #"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?Z?)?$"#, options: .regularExpression) == nil {
            throw ValidationError("--since must be a date YYYY-MM-DD or an ISO 8601 UTC time such as 2026-11-25T18:00:00Z")
        }
        if items != nil && failOn == nil { throw ValidationError("--items needs --fail-on failed|flagged") }
    }

    /// `2026-11-25 12:00:00Z` → `2026-11-25T12:00:00`: a prefix that sorts at or before every record time it covers.
    static func timePrefix(_ s: String) -> String {
        var t = s.replacingOccurrences(of: " ", with: "T")
        if t.hasSuffix("Z") { t.removeLast() }
        return t
    }

    func run() throws {
        let records = try AuditLogFile(path: log).readRecords()
        let filter = AuditReview.Filter(flaggedOnly: flagged, since: since.map(Self.timePrefix), scanSubstring: scan)
        let all = AuditReview.rows(records)
        let rows = all.filter(filter.admits)
        let expected = try items.map { try InputExpansion.expand([$0]).map { URL(fileURLWithPath: $0).lastPathComponent } } ?? []
        // The check sees every row the date and scan filters admit (--flagged only narrows the display).
        var checked = filter
        checked.flaggedOnly = false
        let failures = failOn.map { AuditReview.failures(all.filter(checked.admits), failOn: $0, expected: expected) } ?? []
        if json {
            print(try JSONText.encode(rows))
        } else {
            print(AuditReview.table(rows))
            var summary = "\(rows.count) of \(records.count) records shown, \(rows.filter(\.isFlagged).count) flagged"
            if let failOn { summary += "; --fail-on \(failOn.rawValue): \(failures.isEmpty ? "every item passes" : "\(failures.count) item(s) fail")" }
            print(summary)
        }
        if let html {
            let page = try AuditReviewPage.write(rows: rows, logPath: log, totalRecords: records.count, to: html)
            printError("wrote \(page)")
        }
        for f in failures {
            printError("\(failOn == .flagged ? "FLAGGED" : "FAILED") \(f.name) (\(f.line.map { "\(log):\($0)" } ?? log + ": no record")): \(f.reason)")
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
