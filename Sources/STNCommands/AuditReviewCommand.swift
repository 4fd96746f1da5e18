import ArgumentParser
import AuditLog
import Foundation
import Workflows

/// `stnreg audit review LOG`: table, outliers, HTML page with quick-look images.
struct AuditReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Summarise an audit log: a table, flagged runs and outliers, optionally an HTML page with images.",
        discussion: """
        A row is flagged when the run failed, carries quality flags, breaks the protocol's limits \
        (flip, extreme scale or shear, low final similarity), or when a decomposed parameter is \
        an outlier in the log (robust z-score |z| > 3.5).
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

    func validate() throws {
        if let s = since, s.range(of: #"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?Z?)?$"#, options: .regularExpression) == nil {
            throw ValidationError("--since must be a date YYYY-MM-DD or an ISO 8601 UTC time such as 2026-11-25T18:00:00Z")
        }
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
        let rows = AuditReview.rows(records).filter(filter.admits)
        if json {
            print(try JSONText.encode(rows))
        } else {
            print(AuditReview.table(rows))
            print("\(rows.count) of \(records.count) records shown, \(rows.filter(\.isFlagged).count) flagged")
        }
        if let html {
            let page = try AuditReviewPage.write(rows: rows, logPath: log, totalRecords: records.count, to: html)
            printError("wrote \(page)")
        }
    }
}
