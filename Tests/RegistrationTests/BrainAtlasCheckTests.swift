import Foundation
import Testing
import NIfTIIO
import Sampling
import VolumeCore
@testable import Registration

/// The quality check's own minimum against a brain (skull-stripped) atlas,
/// `limits.minFinalSimilarityBrainAtlas`: which atlases get it, how it is read, and that the
/// result and its record say which minimum applied.
struct BrainAtlasCheckTests {
    static func shippedProtocol(limitsKey key: String, _ value: Any?) throws -> RegistrationProtocol {
        try CrossContrastPipelineTests.shippedProtocol(section: "limits", key: key, value)
    }

    @Test func theBrainAtlasMinimumAppliesOnlyToABrainAtlas() throws {
        var limits = try Self.shippedProtocol(limitsKey: "minFinalSimilarityBrainAtlas", 0.07).limits
        #expect(limits.minFinalSimilarity(brainAtlas: true) == 0.07)
        #expect(limits.minFinalSimilarity(brainAtlas: false) == 0.12)
        #expect(QualityFlag.check(.identity, similarity: 0.09, limits: limits, brainAtlas: true).isEmpty)
        #expect(QualityFlag.check(.identity, similarity: 0.09, limits: limits, brainAtlas: false) == [.lowSimilarity])
        #expect(QualityFlag.check(.identity, similarity: 0.06, limits: limits, brainAtlas: true) == [.lowSimilarity])
        limits.minFinalSimilarityBrainAtlas = nil
        #expect(limits.minFinalSimilarity(brainAtlas: true) == 0.12, "absent: one minimum for every atlas")
    }

    @Test func theKeyIsOptionalAndRangeChecked() throws {
        #expect(try Self.shippedProtocol(limitsKey: "minFinalSimilarityBrainAtlas", nil).limits.minFinalSimilarityBrainAtlas == nil)
        #expect(try RegistrationProtocol.load(path: protocolsFolder + "/brain-affine.json")
            .limits.minFinalSimilarityBrainAtlas == 0.07)
        #expect(try RegistrationProtocol.load(path: protocolsFolder + "/brain-affine-precise.json")
            .limits.minFinalSimilarityBrainAtlas == 0.07)
        #expect(throws: (any Error).self) { try Self.shippedProtocol(limitsKey: "minFinalSimilarityBrainAtlas", 2.0) }
        #expect(throws: (any Error).self) { try Self.shippedProtocol(limitsKey: "minFinalSimilarityBrainAtlas", "low") }
    }

    /// The same scan (the Colin27 brain, moved) to the Colin27 brain and to Colin27 with skull:
    /// the first is a brain atlas (filled foreground under 2.6 L) and gets the brain minimum,
    /// the second the head's; the result says which.
    @Test func theResultNamesTheMinimumItsAtlasGot() throws {
        let folder = CrossContrastPipelineTests.folder
        var p = try CrossContrastPipelineTests.shippedProtocol()
        p.limits.minFinalSimilarityBrainAtlas = 0.05
        for (name, expected) in [("colin27_brain_2mm", 0.05), ("colin27_t1_2mm", 0.12)] {
            let atlas = try NIfTIReader.readVolume(folder + "/\(name).nii.gz")
            let centre = ImagePreparation.centreOfMass(atlas)!
            let truth = Affine.translation(centre) * Decomposition(translation: SIMD3(3, -2, 2), rotationDegrees: SIMD3(4, 0, -3)).affine
                * Affine.translation(-centre)
            let scan = resample(atlas, onto: atlas.grid, atlasToScan: try #require(truth.inverse))
            let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
            #expect(r.similarityMinimum == expected, "\(name)")
            #expect(!r.flags.contains(.lowSimilarity), "\(name): \(r.similarityAfter)")
        }
    }
}
