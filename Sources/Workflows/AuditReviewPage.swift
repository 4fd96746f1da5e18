import AuditLog
import Foundation
import NIfTIIO
import QuickLook
import VolumeCore

/// `stnreg audit review --html DIR`: one HTML page (`DIR/index.html`) with a row per record and,
/// for each successful align whose atlas and warped files are still on disk, two PNG files in
/// `DIR`: the atlas's three middle slices with the warped scan's edges overlaid
/// (`line-N-edges.png`) and an atlas/warped checkerboard (`line-N-checker.png`). Missing files
/// are noted in the row. The page has no scripts and no external references except those PNGs.
public enum AuditReviewPage {
    /// Writes the page and images; returns the page's path.
    @discardableResult
    public static func write(rows: [AuditReview.Row], logPath: String, totalRecords: Int, to folder: String) throws -> String {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw AtomicFile.WriteError(path: folder, reason: "cannot create the review folder (\(error.localizedDescription))")
        }
        var atlasCache: [String: Volume] = [:]
        var body: [String] = []
        for r in rows {
            var images = ""
            if r.command == "align" && r.status == "ok" {
                images = try quickLook(r, folder: folder, atlasCache: &atlasCache)
            }
            let cls = r.isFlagged ? " class=\"flagged\"" : ""
            let scan = r.scan.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "—"
            func f(_ v: Double?, _ fmt: String) -> String { v.map { String(format: fmt, $0) } ?? "—" }
            let sim = r.command == "apply" ? "apply" : "\(f(r.similarityBefore, "%.3f")) → \(f(r.similarityAfter, "%.3f"))"
            let scales = r.scale.map { $0.map { String(format: "%.3f", $0) }.joined(separator: " ") } ?? "—"
            var reasons = r.reasons.map { "<span class=\"flag\">\(escape($0))</span>" }.joined(separator: " ")
            if reasons.isEmpty { reasons = "<span class=\"ok\">ok</span>" }
            if let e = r.error { reasons += "<div class=\"error\">\(escape(e))</div>" }
            body.append("""
            <tr\(cls)><td>\(r.line)</td><td class="t">\(escape(shortTime(r.time)))</td><td title="\(escape(r.scan ?? ""))">\(escape(scan))</td>\
            <td>\(sim)</td><td>\(f(r.determinant, "%.3f"))</td><td>\(f(r.rotationDegrees, "%.1f"))</td>\
            <td>\(scales)</td><td>\(reasons)</td><td>\(images)</td></tr>
            """)
        }
        let flagged = rows.filter(\.isFlagged).count
        let page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>stnreg audit review</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
        h1 { font-size: 20px; margin: 0 0 4px; } p.summary { margin: 0 0 12px; color: #555; }
        table { border-collapse: collapse; } th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #f3f3f3; position: sticky; top: 0; }
        tr.flagged td { background: #fff1ee; } .flag { display: inline-block; background: #c0392b; color: #fff; border-radius: 3px; padding: 0 4px; margin: 1px; font-size: 12px; }
        .ok { color: #1e8449; } .error { color: #c0392b; font-size: 12px; max-width: 320px; } .note { color: #888; font-size: 12px; }
        img { height: 120px; margin-right: 6px; vertical-align: top; } td.t { white-space: nowrap; }
        </style></head><body>
        <h1>stnreg audit review</h1>
        <p class="summary">\(escape(logPath)) — \(rows.count) of \(totalRecords) records shown, \(flagged) flagged.
        Images: atlas (grey) with the warped scan's edges (red), then an atlas/warped checkerboard; axial, coronal, sagittal middle slices.</p>
        <table><thead><tr><th>line</th><th>time (UTC)</th><th>scan</th><th>similarity before → after</th><th>det</th><th>rot°</th><th>scales</th><th>flags</th><th>quick look</th></tr></thead>
        <tbody>
        \(body.joined(separator: "\n"))
        </tbody></table></body></html>
        """
        let path = folder + "/index.html"
        try AtomicFile.write(Data(page.utf8), to: path)
        return path
    }

    static func quickLook(_ r: AuditReview.Row, folder: String, atlasCache: inout [String: Volume]) throws -> String {
        guard let atlasPath = r.atlas, let warpedPath = r.warped else {
            return "<span class=\"note\">no atlas or warped file in the record</span>"
        }
        let fm = FileManager.default
        for p in [atlasPath, warpedPath] where !fm.fileExists(atPath: p) {
            return "<span class=\"note\">no quick look: \(escape(p)) is missing</span>"
        }
        let atlas: Volume, warped: Volume
        do {
            if let a = atlasCache[atlasPath] { atlas = a } else { atlas = try NIfTIReader.readVolume(atlasPath); atlasCache[atlasPath] = atlas }
            warped = try NIfTIReader.readVolume(warpedPath)
        } catch {
            return "<span class=\"note\">no quick look: \(escape(String(describing: error)))</span>"
        }
        guard atlas.dims == warped.dims else {
            return "<span class=\"note\">no quick look: the warped file is not on the atlas grid</span>"
        }
        let edges = "line-\(r.line)-edges.png", checker = "line-\(r.line)-checker.png"
        try PNGWriter.write(QuickLookPanels.edgeOverlay(atlas: atlas, warped: warped), to: folder + "/" + edges)
        try PNGWriter.write(QuickLookPanels.checkerboard(atlas: atlas, warped: warped), to: folder + "/" + checker)
        return "<img src=\"\(edges)\" alt=\"edges of line \(r.line)\"><img src=\"\(checker)\" alt=\"checkerboard of line \(r.line)\">"
    }

    /// `2026-11-25T18:35:45.218Z` → `2026-11-25 18:35:45`.
    static func shortTime(_ t: String) -> String {
        t.count >= 19 ? String(t.prefix(19)).replacingOccurrences(of: "T", with: " ") : t
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
