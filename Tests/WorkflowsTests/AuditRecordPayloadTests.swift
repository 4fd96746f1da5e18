import AuditLog
import Foundation
import Registration
import Testing
import TestSupport
import VolumeCore
import Workflows

/// The one audit payload: records keep the members of the records written before it (the
/// audit-v1 fixture), and the transform-describing members are the transform JSON's.
struct AuditRecordPayloadTests {
    static let fixtures = repositoryFolder + "/Tests/Fixtures/audit-v1"

    /// Every member path of a record (`a.b`, `a[].b` into arrays), without the log's own members.
    static func paths(_ v: AuditValue, _ prefix: String = "") -> Set<String> {
        var out = Set<String>()
        switch v {
        case .object(let o):
            for (k, x) in o where prefix != "" || !["prev", "hash", "signedBy", "signature"].contains(k) {
                let p = prefix.isEmpty ? k : prefix + "." + k
                out.insert(p)
                out.formUnion(paths(x, p))
            }
        case .array(let a):
            for x in a { out.formUnion(paths(x, prefix + "[]")) }
        default: break
        }
        return out
    }

    static func fixtureRecord(_ log: String, line: Int) throws -> AuditValue {
        .object(try AuditLogFile(path: fixtures + "/" + log).readRecords()[line - 1].fields)
    }

    static func record(_ log: String) throws -> AuditValue {
        let records = try AuditLogFile(path: log).readRecords()
        try #require(records.count == 1)
        return .object(records[0].fields)
    }

    @Test func alignRecordKeepsTheOldMembersAndSharesTheTransformJSONs() throws {
        let c = try PhantomCase()
        let log = c.dir + "/audit.jsonl"
        let outcome = try c.job(prefix: "out").runAndAudit(log: log)
        let r = try Self.record(log)
        // The old record had a network (model path, its last correction, the predict and search
        // stages); the phantom protocol has none.
        let networkOnly: Set = ["model.path", "predictionLastCorrectionMM", "timingsSeconds.predict", "timingsSeconds.search"]
        let old = Self.paths(try Self.fixtureRecord("align-apply.jsonl", line: 1)).subtracting(networkOnly)
        #expect(old.subtracting(Self.paths(r)).isEmpty, "missing: \(old.subtracting(Self.paths(r)).sorted())")
        // New since the fixture: the check's measure, the contrast probe's figures (and its
        // cross-contrast retry and basin stage, null here: the phantom passes its check; the head-shell decision
        // from the atlas's foreground volume), each level's
        // evaluations and stop reason (the second-order optimiser), whether it ran against the
        // remapped atlas (contrast.intensityRemap), the check's minimum against a brain atlas
        // (limits.minFinalSimilarityBrainAtlas) and the one it applied (similarity.minimum), and the stage
        // timers that now cover the wall time (AlignJob.stageKeys; the record cannot time its own append).
        let newTimers = Set(AlignJob.stageKeys.filter { !["audit", "predict", "search"].contains($0) }.map { "timingsSeconds." + $0 })
            .subtracting(old)
        #expect(Self.paths(r).subtracting(old) == Set(["protocol.limits.checkMeasure", "contrast.correlationRatio", "contrast.linearity",
                                                       "contrast.crossContrastRetry", "contrast.basin", "levels[].evaluations", "levels[].stopReason", "levels[].atlasRemapped",
                                                       "contrast.headShell", "contrast.headShell.applies",
                                                       "contrast.headShell.atlasForegroundLitres", "contrast.headShell.scanCoverage",
                                                       "protocol.limits.minFinalSimilarityBrainAtlas", "similarity.minimum"])
            .union(newTimers))
        #expect(r["contrast"]?["crossContrastRetry"] == .null)
        #expect(r["contrast"]?["basin"] == .null)   // no basin stage: the phantom is taken for the atlas's contrast

        // Shared with the transform JSON, value for value.
        let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: outcome.outputs.transform))).get()
        for key in ["atlasToScan", "decomposition", "initialAtlasToScan", "refinementStartAtlasToScan", "levels",
                    "rotationCandidatesTried", "flags", "threads"] {
            #expect(r[key] == json[key], "\(key)")
        }
        // Timings: the record was written after the transform JSON, so it has the later stages
        // (`record`, `hashOutputs`) and a later `wall`; every stage the JSON has is the same.
        for (stage, seconds) in json["timingsSeconds"]?.object ?? [:] where stage != "wall" {
            #expect(r["timingsSeconds"]?[stage] == seconds, "timingsSeconds.\(stage)")
        }
        #expect(r["similarity"]?["measure"] == json["similarityMeasure"])
        #expect(r["similarity"]?["after"] == json["similarityAfter"])
        // The record's paths are absolute and standardised; the transform JSON's as given.
        func standardised(_ v: AuditValue?) -> AuditValue? {
            guard case .object(var o)? = v, let p = o["path"]?.string else { return v }
            o["path"] = .string(URL(fileURLWithPath: p).standardizedFileURL.path)
            return .object(o)
        }
        #expect(r["protocol"] == standardised(json["protocolUsed"]))
        #expect(r["protocol"]?["sha256"]?.string == (try referenceSHA256(ofFile: c.protocolPath)))
        for (n, role) in ["scan", "atlas"].enumerated() {
            guard case .object(var input)? = r["inputs"]?.array?[n] else { Issue.record("no input \(n)"); continue }
            #expect(input.removeValue(forKey: "role") == .string(role))
            #expect(AuditValue.object(input) == standardised(json[role]))
        }
        #expect(r["outputs"]?.array?.map { $0["role"]?.string ?? "" } == AlignOutputs.Role.allCases.map(\.rawValue).sorted())
    }

    @Test func failureAndApplyRecordsHaveExactlyTheOldMembers() throws {
        let c = try PhantomCase()
        // A failed align (the scan is not a NIfTI file): fixture line 5.
        try Data("not nifti".utf8).write(to: URL(fileURLWithPath: c.dir + "/bad.nii"))
        var bad = c.job(prefix: "bad")
        bad.scanPath = c.dir + "/bad.nii"
        bad.protocolName = nil
        #expect(throws: (any Error).self) { try bad.runAndAudit(log: c.dir + "/failed.jsonl") }
        #expect(Self.paths(try Self.record(c.dir + "/failed.jsonl"))
                == Self.paths(try Self.fixtureRecord("align-apply.jsonl", line: 5)).union(["protocol.limits.checkMeasure", "protocol.limits.minFinalSimilarityBrainAtlas"]))

        // An apply of the ITK file, and one of a missing transform: fixture lines 3 and 4.
        let outcome = try c.job(prefix: "out").run()
        let apply = ApplyJob(transformPath: outcome.outputs[.itk], movingPath: c.scanPath, referencePath: c.atlasPath,
                             outputPath: c.dir + "/applied.nii.gz")
        try apply.runAndAudit(log: c.dir + "/apply.jsonl", commandLine: ["test"])
        #expect(Self.paths(try Self.record(c.dir + "/apply.jsonl")) == Self.paths(try Self.fixtureRecord("align-apply.jsonl", line: 3)))
        var missing = apply
        missing.transformPath = c.dir + "/missing.tfm"
        missing.outputPath = c.dir + "/x.nii.gz"
        #expect(throws: (any Error).self) { try missing.runAndAudit(log: c.dir + "/apply-failed.jsonl", commandLine: ["test"]) }
        let failed = try Self.record(c.dir + "/apply-failed.jsonl")
        #expect(Self.paths(failed) == Self.paths(try Self.fixtureRecord("align-apply.jsonl", line: 4)))
        #expect(failed["status"] == "failed" && failed["inputs"]?.array?[0]["sha256"] == .null)
    }

    @Test func thePayloadNeverNamesTheLogsOwnMembersAndKeepsIntegersExact() throws {
        var p = AuditRecordPayload(command: .apply, commandLine: ["x"])
        p.atlasToScan = .translation(SIMD3(1, 2.5, 3))
        p.threads = 3
        p.timingsSeconds = ["wall": 2, "read": .nan]
        let v = try p.value()
        for key in ["prev", "hash", "signedBy", "signature"] { #expect(v[key] == nil) }
        #expect(v["threads"] == .int(3))
        #expect(v["timingsSeconds"] == ["wall": .int(2), "read": .null])   // NaN is written as null
        #expect(v["atlasToScan"]?.array?[1] == [.int(0), .int(1), .int(0), .double(2.5)])
        #expect(v["decomposition"]?["translationMM"] == [.int(1), .double(2.5), .int(3)])
        #expect(v["schema"] == "stnreg-audit-record" && v["schemaVersion"] == .int(1))
    }
}
