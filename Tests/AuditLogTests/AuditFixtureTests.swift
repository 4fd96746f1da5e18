import AuditLog
import Foundation
import Testing

/// Logs written by an older stnreg (Tests/Fixtures/audit-v1, see its README) still verify and
/// read the same: a change of how records are built must not break the logs users already have.
struct AuditFixtureTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/audit-v1").path

    @Test(arguments: [("align-apply", 5), ("batch", 2)])
    func oldLogVerifiesWithoutItsOutputs(name: String, records: Int) throws {
        let log = Self.folder + "/\(name).jsonl"
        let v = try AuditVerifier.verify(path: log, checkOutputs: false)
        #expect(v.isIntact, "\(v.problems)")
        #expect(v.problems.isEmpty)
        #expect(v.intactRecords == records)
        let r = try runStnreg(["audit", "verify", log, "--skip-outputs"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "\(log): intact (\(records) records, 0 output files re-hashed)\n")
    }

    @Test func oldSignedRecordStillChecksAgainstItsKey() throws {
        let v = try AuditVerifier.verify(path: Self.folder + "/align-apply.jsonl", checkOutputs: false,
                                         trustedKeys: try AuditTrustedKeys.load(path: Self.folder + "/fixture.key.pub"))
        #expect(v.signaturesChecked == 1)
        #expect(v.signedRecords == 1)
        // The other four records are unsigned: reported as such, and nothing else.
        #expect(Set(v.problems.map(\.kind.rawValue)) == ["unsigned"])
        #expect(v.problems.map(\.line) == [1, 3, 4, 5])
    }

    @Test(arguments: ["align-apply", "batch"])
    func reviewReadsTheOldLogAsBefore(name: String) throws {
        let log = Self.folder + "/\(name).jsonl"
        let table = try runStnreg(["audit", "review", log])
        #expect(table.status == 0, "\(table.err)")
        #expect(table.out == (try String(contentsOfFile: Self.folder + "/\(name).review.txt", encoding: .utf8)))
        let json = try runStnreg(["audit", "review", log, "--json"])
        #expect(json.status == 0, "\(json.err)")
        #expect(json.out == (try String(contentsOfFile: Self.folder + "/\(name).review.json", encoding: .utf8)))
    }

    @Test func oldBatchLogAnswersDidEveryItemSucceed() throws {
        let r = try runStnreg(["audit", "review", Self.folder + "/batch.jsonl", "--fail-on", "failed"])
        #expect(r.status == 1)
        #expect(r.out.hasSuffix("2 of 2 records shown, 1 flagged; --fail-on failed: 1 item(s) fail\n"))
        #expect(r.err.contains("FAILED bad.nii"))
    }

    @Test func showExportsTheOldRecordsTransformAsTheAlignWroteIt() throws {
        let out = temporaryFolder() + "/exported.tfm"
        let r = try runStnreg(["audit", "show", "line:1", "--log", Self.folder + "/align-apply.jsonl", "--export", out, "--format", "itkText"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == (try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/colin_itk.tfm"))))
    }
}

extension AuditFixtureTests {
    /// The record's transform exported as stnreg's JSON reads back (through apply's reader) to
    /// the matrix the align wrote.
    @Test func showExportsTheOldRecordAsStnregJSON() throws {
        let out = temporaryFolder() + "/exported.json"
        let r = try runStnreg(["audit", "show", "line:2", "--log", Self.folder + "/align-apply.jsonl", "--export", out, "--format", "stnreg"])
        #expect(r.status == 0, "\(r.err)")
        let exported = try JSONLineParser.parse(try String(contentsOfFile: out, encoding: .utf8))
        #expect(exported["format"] == "stnreg-transform")
        let record = try AuditLogFile(path: Self.folder + "/align-apply.jsonl").readRecords()[1]
        #expect(exported["atlasToScan"] == record.fields["atlasToScan"])
    }
}
