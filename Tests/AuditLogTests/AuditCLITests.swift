import AuditLog
import Foundation
import Testing

/// The `stnreg audit` commands, run as a user would.
@Suite struct AuditCLITests {
    @Test func verifyExitsZeroWhenIntactAndOneWithTheLineOtherwise() throws {
        let path = try makeLog(temporaryFolder(), count: 5)
        var r = try runStnreg(["audit", "verify", path])
        #expect(r.status == 0)
        #expect(r.out == "\(path): intact (5 records, 0 output files re-hashed)\n")
        var l = lines(path)
        l.remove(at: 1)
        writeLines(l, to: path)
        r = try runStnreg(["audit", "verify", path])
        #expect(r.status == 1)
        #expect(r.out.hasPrefix("\(path):2: deleted: the record it follows (prev "))
        #expect(r.out.hasSuffix("\(path): NOT intact: 1 problem(s) (4 records, 0 output files re-hashed)\n"))
    }

    /// 200 plausible registrations and one whose rotation about z is far off, though within
    /// every absolute limit: the review flags that one and no other.
    @Test func reviewSinglesOutTheOneOutlierInTwoHundred() throws {
        let folder = temporaryFolder()
        let path = folder + "/batch.jsonl"
        let log = AuditLogFile(path: path)
        var state: UInt64 = 7
        func noise(_ scale: Double) -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) / Double(1 << 53) * 2 - 1) * scale
        }
        for n in 0..<200 {
            let rz = n == 137 ? 24.0 : noise(3)
            let scale = [1 + noise(0.04), 1 + noise(0.04), 1 + noise(0.04)]
            let p: [String: AuditValue] = [
                "id": .string(String(format: "id-%03d", n)), "time": .string(String(format: "2026-11-25T12:%02d:%02d.000Z", n / 60, n % 60)),
                "command": "align", "status": "ok", "flags": [],
                "inputs": [["role": "scan", "path": .string("/data/sub-\(String(format: "%03d", n))_T1w.nii.gz")], ["role": "atlas", "path": "/data/mni.nii.gz"]],
                "similarity": ["measure": "ncc", "before": .number(0.5 + noise(0.1)), "after": .number(0.9 + noise(0.02))],
                "protocol": ["name": "brain-affine", "limits": ["minScale": 0.6, "maxScale": 1.6, "maxShear": 0.25, "minFinalSimilarity": 0.5]],
                "decomposition": [
                    "translationMM": .numbers([noise(5), noise(5), noise(5)]),
                    "rotationDegrees": .numbers([noise(3), noise(3), rz]), "rotationAngleDegrees": .number(abs(rz)),
                    "scale": .numbers(scale), "shear": .numbers([noise(0.02), noise(0.02), noise(0.02)]),
                    "determinant": .number(scale.reduce(1, *)),
                ],
            ]
            try log.append(p)
        }
        let r = try runStnreg(["audit", "review", path, "--flagged", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let rows = try JSONLineParser.parse(r.out).array ?? []
        #expect(rows.count == 1)
        #expect(rows.first?["line"] == 138)
        #expect(rows.first?["outliers"]?.array?.compactMap { $0["parameter"]?.string } == ["rotation.z"])

        // Filters: --scan and --since, and the table.
        let one = try runStnreg(["audit", "review", path, "--scan", "sub-005_"])
        #expect(one.out.contains("sub-005_T1w.nii.gz") && one.out.hasSuffix("1 of 200 records shown, 0 flagged\n"))
        let late = try runStnreg(["audit", "review", path, "--since", "2026-11-25T12:03:00Z"])
        #expect(late.out.hasSuffix("20 of 200 records shown, 0 flagged\n"))
        let bad = try runStnreg(["audit", "review", path, "--since", "yesterday"])
        #expect(bad.status != 0 && bad.err.contains("--since must be a date YYYY-MM-DD"))
    }

    @Test func mergeAndShowFromTheCommandLine() throws {
        let folder = temporaryFolder()
        let a = try makeLog(folder, count: 3, name: "a.jsonl")
        let b = AuditLogFile(path: folder + "/b.jsonl")
        try b.append(payload(10))
        let out = folder + "/m.jsonl"
        let r = try runStnreg(["audit", "merge", a, b.path, "-o", out])
        #expect(r.status == 0 && r.out == "merged 4 records from 2 logs into \(out)\n")
        let show = try runStnreg(["audit", "show", "rec-00010", "--log", out])
        #expect(show.status == 0)
        let shown = try JSONLineParser.parse(show.out)
        #expect(shown["n"] == 10 && shown["sourceShard"]?["path"]?.string == b.path)
        let missing = try runStnreg(["audit", "show", "nope", "--log", out])
        #expect(missing.status != 0 && missing.err.contains("\(out): no record with id or hash starting 'nope'"))
    }
}
