import Foundation
import Testing
import AuditLog
import VolumeCore
import Workflows

/// `audit review` re-checks a record's similarity against the minimum the check applied
/// (`similarity.minimum`: against a brain atlas, `limits.minFinalSimilarityBrainAtlas`), and
/// against the protocol's `minFinalSimilarity` in records that do not carry it.
struct AuditReviewMinimumTests {
    static func row(minimum: String) throws -> AuditReview.Row {
        let text = """
        {"command": "align", "status": "ok", "flags": [],
         "similarity": {"measure": "nmi", "before": 0.01, "after": 0.09\(minimum)},
         "protocol": {"limits": {"minScale": 0.6, "maxScale": 1.6, "maxShear": 0.25, "minFinalSimilarity": 0.12}}}
        """
        guard case .object(let fields) = try JSONValue.parse(Data(text.utf8)).get() else { throw CancellationError() }
        return AuditReview.row(AuditRecord(line: 1, fields: fields))
    }

    @Test func theRecordedMinimumDecides() throws {
        #expect(try !Self.row(minimum: ", \"minimum\": 0.07").limitFlags.contains("lowSimilarity"))
        #expect(try Self.row(minimum: ", \"minimum\": 0.10").limitFlags.contains("lowSimilarity"))
        #expect(try Self.row(minimum: "").limitFlags.contains("lowSimilarity"), "an older record: the protocol's 0.12")
    }
}
