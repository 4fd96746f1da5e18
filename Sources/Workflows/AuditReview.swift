import AuditLog
import Foundation

/// `stnreg audit review`: one row per audit record, quality flags, and outliers.
///
/// A row is flagged when the run failed, when the record carries quality flags, when the
/// recorded numbers break absolute limits (determinant ≤ 0 = flip; a scale outside
/// [minScale, maxScale]; |shear| > maxShear; final similarity < minFinalSimilarity — the
/// limits recorded with the protocol, else ``defaultLimits``), or when a decomposed parameter
/// is an outlier relative to the rest of the log: robust z = (x − median) / (1.4826·MAD) over
/// the successful `align` records, |z| > 3.5 (``RobustZScore``). The spread has a floor per
/// parameter (``spreadFloors``) so that a tight batch does not flag sub-millimetre differences.
public enum AuditReview {
    /// Limits used when a record does not carry its protocol's (those of `brain-affine`).
    public static let defaultLimits = Limits(minScale: 0.6, maxScale: 1.6, maxShear: 0.25, minFinalSimilarity: 0.5)

    /// Fewest successful align records for the relative (z-score) check.
    public static let minimumRecordsForOutliers = 5

    public struct Limits: Sendable, Codable, Equatable {
        public var minScale: Double
        public var maxScale: Double
        public var maxShear: Double
        public var minFinalSimilarity: Double
    }

    /// Parameters checked for outliers and the floor of their spread (units of the parameter).
    public static let spreadFloors: [(name: String, floor: Double)] = [
        ("translation.x", 2), ("translation.y", 2), ("translation.z", 2),
        ("rotation.x", 2), ("rotation.y", 2), ("rotation.z", 2),
        ("scale.x", 0.02), ("scale.y", 0.02), ("scale.z", 0.02),
        ("shear.xy", 0.02), ("shear.xz", 0.02), ("shear.yz", 0.02),
        ("determinant", 0.02), ("similarity.after", 0.02),
    ]

    /// One parameter far from the rest of the log.
    public struct Outlier: Sendable, Codable, Equatable {
        public var parameter: String
        public var value: Double
        public var z: Double
    }

    /// One record as the review shows it.
    public struct Row: Sendable, Codable, Equatable {
        public var line: Int
        public var id: String
        public var time: String
        public var command: String
        public var status: String
        public var error: String?
        /// The batch item's name (its input file name; `batch.item`), for a batch record.
        public var item: String?
        /// The batch item's output prefix (`batch.prefix`), for a batch record.
        public var batchPrefix: String?
        public var scan: String?
        public var atlas: String?
        public var warped: String?
        public var similarityBefore: Double?
        public var similarityAfter: Double?
        public var determinant: Double?
        /// The rotation's angle about its own axis (degrees).
        public var rotationDegrees: Double?
        /// Rotation angles about x, y, z (degrees; R = Rz·Ry·Rx).
        public var rotationEulerDegrees: [Double]?
        public var translationMM: [Double]?
        public var scale: [Double]?
        public var shear: [Double]?
        /// Flags recorded by the run.
        public var flags: [String]
        /// Absolute-limit flags recomputed from the recorded numbers.
        public var limitFlags: [String]
        public var outliers: [Outlier]

        public var isFlagged: Bool { status != "ok" || !flags.isEmpty || !limitFlags.isEmpty || !outliers.isEmpty }

        /// What the record is a run of, so that a later run of the same thing supersedes it: a
        /// batch item by its output prefix; any other record by its command, scan and atlas.
        public var subject: String { batchPrefix ?? "\(command) \(scan ?? "?") → \(atlas ?? "?")" }

        /// The name shown for the subject: the batch item, else the scan's file name.
        public var subjectName: String { item ?? scan.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "line \(line)" }

        /// Every reason, short (for the table's flags column).
        public var reasons: [String] {
            var r = status == "ok" ? [] : ["FAILED"]
            for f in flags + limitFlags where !r.contains(f) { r.append(f) }
            r += outliers.map { "outlier:\($0.parameter)(z=\(String(format: "%.1f", $0.z)))" }
            return r
        }
    }

    /// Which rows to show.
    public struct Filter: Sendable {
        public var flaggedOnly = false
        /// Earliest time, compared as text with the record's ISO 8601 UTC `time` (so `2026-11-25` means that day on).
        public var since: String?
        public var scanSubstring: String?
        public init(flaggedOnly: Bool = false, since: String? = nil, scanSubstring: String? = nil) {
            self.flaggedOnly = flaggedOnly; self.since = since; self.scanSubstring = scanSubstring
        }

        public func admits(_ row: Row) -> Bool {
            if flaggedOnly && !row.isFlagged { return false }
            if let since, row.time < since { return false }
            if let s = scanSubstring, !(row.scan ?? "").contains(s) { return false }
            return true
        }
    }

    /// Rows for every record; outliers are judged against all successful align records (before filtering).
    public static func rows(_ records: [AuditRecord]) -> [Row] {
        var rows = records.map(row)
        let candidates = rows.indices.filter { rows[$0].command == "align" && rows[$0].status == "ok" && rows[$0].scale != nil }
        guard candidates.count >= minimumRecordsForOutliers else { return rows }
        for (name, floor) in spreadFloors {
            let values = candidates.map { parameter(name, of: rows[$0]) ?? .nan }
            let known = zip(candidates, values).filter { $0.1.isFinite }
            let z = RobustZScore.scores(known.map(\.1), minSpread: floor)
            for (n, (i, v)) in known.enumerated() where abs(z[n]) > RobustZScore.outlierThreshold {
                rows[i].outliers.append(Outlier(parameter: name, value: v, z: z[n]))
            }
        }
        return rows
    }

    static func parameter(_ name: String, of r: Row) -> Double? {
        func at(_ a: [Double]?, _ i: Int) -> Double? { a.flatMap { $0.count > i ? $0[i] : nil } }
        switch name {
        case "translation.x": return at(r.translationMM, 0)
        case "translation.y": return at(r.translationMM, 1)
        case "translation.z": return at(r.translationMM, 2)
        case "rotation.x": return at(r.rotationEulerDegrees, 0)
        case "rotation.y": return at(r.rotationEulerDegrees, 1)
        case "rotation.z": return at(r.rotationEulerDegrees, 2)
        case "scale.x": return at(r.scale, 0)
        case "scale.y": return at(r.scale, 1)
        case "scale.z": return at(r.scale, 2)
        case "shear.xy": return at(r.shear, 0)
        case "shear.xz": return at(r.shear, 1)
        case "shear.yz": return at(r.shear, 2)
        case "determinant": return r.determinant
        case "similarity.after": return r.similarityAfter
        default: return nil
        }
    }

    static func numbers(_ v: AuditValue?) -> [Double]? {
        guard let a = v?.array else { return nil }
        let xs = a.compactMap(\.number)
        return xs.count == a.count ? xs : nil
    }

    /// One row from a record (no outliers yet).
    public static func row(_ r: AuditRecord) -> Row {
        let f = r.fields
        let inputs = f["inputs"]?.array ?? []
        func inputPath(_ role: String) -> String? {
            inputs.first { $0["role"]?.string == role }?["path"]?.string
        }
        let outputs = f["outputs"]?.array ?? []
        let d = f["decomposition"]
        let command = f["command"]?.string ?? "?"
        var row = Row(
            line: r.line, id: f["id"]?.string ?? "", time: f["time"]?.string ?? "", command: command,
            status: f["status"]?.string ?? "?", error: f["error"]?.string,
            item: f["batch"]?["item"]?.string, batchPrefix: f["batch"]?["prefix"]?.string,
            scan: command == "apply" ? inputPath("moving") : inputPath("scan"),
            atlas: command == "apply" ? inputPath("reference") : inputPath("atlas"),
            warped: outputs.first { $0["role"]?.string == "warped" }?["path"]?.string,
            similarityBefore: f["similarity"]?["before"]?.number, similarityAfter: f["similarity"]?["after"]?.number,
            determinant: d?["determinant"]?.number, rotationDegrees: d?["rotationAngleDegrees"]?.number,
            rotationEulerDegrees: numbers(d?["rotationDegrees"]),
            translationMM: numbers(d?["translationMM"]), scale: numbers(d?["scale"]), shear: numbers(d?["shear"]),
            flags: (f["flags"]?.array ?? []).compactMap(\.string), limitFlags: [], outliers: [])
        let lim = f["protocol"]?["limits"]
        let limits = Limits(minScale: lim?["minScale"]?.number ?? defaultLimits.minScale,
                            maxScale: lim?["maxScale"]?.number ?? defaultLimits.maxScale,
                            maxShear: lim?["maxShear"]?.number ?? defaultLimits.maxShear,
                            minFinalSimilarity: lim?["minFinalSimilarity"]?.number ?? defaultLimits.minFinalSimilarity)
        if let det = row.determinant, det <= 0 { row.limitFlags.append("flip") }
        if let s = row.scale, s.contains(where: { abs($0) < limits.minScale || abs($0) > limits.maxScale }) { row.limitFlags.append("extremeScale") }
        if let s = row.shear, s.contains(where: { abs($0) > limits.maxShear }) { row.limitFlags.append("extremeShear") }
        // The minimum the check applied (a brain atlas has its own), else the protocol's.
        let minimum = f["similarity"]?["minimum"]?.number ?? limits.minFinalSimilarity
        if command == "align", let sim = row.similarityAfter, sim < minimum { row.limitFlags.append("lowSimilarity") }
        row.limitFlags.removeAll { row.flags.contains($0) }
        return row
    }

    /// `audit review --fail-on`: which results make the review exit 1.
    public enum FailOn: String, Sendable, CaseIterable, Codable {
        /// A run whose record has status other than `ok`.
        case failed
        /// A run the review flags (``Row/isFlagged``: failed, quality flags, limits, outliers).
        case flagged
    }

    /// One subject (batch item, or scan and atlas) that fails the check.
    public struct Failure: Sendable, Codable, Equatable {
        /// Its name (``Row/subjectName``, or the expected item's name).
        public var name: String
        /// Its latest record's line; nil when there is no record of it (then `reason` says why it fails).
        public var line: Int?
        public var reason: String
    }

    /// "Did every item succeed?": the subjects whose **latest** row (by log line: a re-run that
    /// succeeded supersedes a failure) fails `failOn`, in log order, then every name in
    /// `expected` (input file names, e.g. the batch's list) with no row at all. Empty: success.
    public static func failures(_ rows: [Row], failOn: FailOn, expected: [String] = []) -> [Failure] {
        var latest: [String: Row] = [:]
        for r in rows where latest[r.subject].map({ $0.line < r.line }) ?? true { latest[r.subject] = r }
        var out: [Failure] = []
        for r in latest.values.sorted(by: { $0.line < $1.line }) {
            switch failOn {
            case .failed where r.status != "ok":
                out.append(Failure(name: r.subjectName, line: r.line, reason: "\(r.status): \(r.error ?? "no error recorded")"))
            case .flagged where r.isFlagged:
                let why = r.reasons.joined(separator: ", ")
                out.append(Failure(name: r.subjectName, line: r.line, reason: r.status == "ok" ? why : why + ": " + (r.error ?? "")))
            default: break
            }
        }
        let seen = Set(rows.map(\.subjectName))
        var listed = Set<String>()
        for name in expected where !seen.contains(name) && listed.insert(name).inserted {
            out.append(Failure(name: name, line: nil, reason: "never run, or stopped before it finished (re-submit to resume)"))
        }
        return out
    }

    /// Plain-text table of `rows`.
    public static func table(_ rows: [Row]) -> String {
        func f(_ v: Double?, _ fmt: String) -> String { v.map { String(format: fmt, $0) } ?? "—" }
        let header = ["line", "time (UTC)", "scan", "similarity", "det", "rot°", "scales", "flags"]
        var cells: [[String]] = [header]
        for r in rows {
            let time = r.time.count >= 19 ? String(r.time.prefix(19)).replacingOccurrences(of: "T", with: " ") : r.time
            let scan = r.scan.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "—"
            let sim = r.similarityBefore == nil && r.similarityAfter == nil ? (r.command == "apply" ? "apply" : "—")
                : "\(f(r.similarityBefore, "%.3f")) → \(f(r.similarityAfter, "%.3f"))"
            let scales = r.scale.map { $0.map { String(format: "%.3f", $0) }.joined(separator: " ") } ?? "—"
            cells.append(["\(r.line)", time, scan, sim, f(r.determinant, "%.3f"), f(r.rotationDegrees, "%.1f"), scales,
                          r.reasons.isEmpty ? "ok" : r.reasons.joined(separator: ", ")])
        }
        let widths = (0..<header.count).map { c in cells.map { $0[c].count }.max()! }
        return cells.map { row in
            row.enumerated().map { c, s in c == row.count - 1 ? s : s.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
