import Foundation
import NIfTIIO
import Sampling
@testable import Registration
import Testing
import TestSupport
import VolumeCore

/// ``BasinStage``: on the head shell's path the first levels run on normalised gradient fields,
/// the path's own levels follow from there, and their result is kept only if it stays within the
/// tolerance of the basin's.
struct BasinStageTests {
    typealias Pipeline = CrossContrastPipelineTests

    /// The oracle of the distance the stage compares with its tolerance: a pure translation by
    /// (3, 4, 0) mm moves every mask voxel by exactly 5 mm; a transform against itself, 0.
    @Test func theMeanDistanceOfATranslationIsItsLength() throws {
        let brain = HeadShellTests.spheres([60], [0.7], spacingMM: 3, sizeMM: 180)
        let mask = ImagePreparation.mask(brain, threshold: Pyramid.foregroundThreshold, dilation: 1)
        let level = WorkingLevel(spacingMM: 3, atlas: brain, mask: mask, scan: brain, similarity: .mi, threads: 2)
        #expect(mask.contains(where: { $0 > 0 }))
        let a = Affine.translation(SIMD3(10, -20, 5))
        #expect(abs(level.meanDistanceMM(a, Affine.translation(SIMD3(3, 4, 0)) * a) - 5) < 1e-9)
        #expect(level.meanDistanceMM(a, a) == 0)
    }

    /// A T2 with skull (``HeadShellTests/t2WithHead(moved:scalp:)``) whose brain is smaller than
    /// the atlas's — scale 0.8 on every axis (volume ratio 0.51), a 6 mm scalp brighter than its CSF —
    /// registered to the skull-stripped MNI152 T1. Without the basin stage (`basinSimilarity`
    /// absent) mutual information fits the atlas brain to the whole head (measured 11.4 mm); with
    /// it the result is within 1.5 mm of the truth (measured 0.15 mm), and the record names the
    /// stage's measure and levels and says which result was kept.
    @Test func aSmallHeadWithSkullIsRegisteredWithTheBasin() throws {
        let (atlas, scan, truth) = try HeadShellTests.t2WithHead(moved: Self.small(0.8), scalp: 120, scalpOuterMM: 14)
        let p = try Pipeline.shippedProtocol()
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        let contrast = try #require(r.contrast)
        #expect(contrast.headShell?.applies == true)
        let basin = try #require(contrast.basin, "no basin stage (same contrast: \(contrast.sameContrast))")
        #expect(basin.similarity == .ngf && basin.toleranceMM == 5)
        #expect(basin.levels.map(\.spacingMM) == p.levels.prefix(2).map(\.spacingMM))
        #expect(basin.levels.allSatisfy { $0.similarityMeasure == .ngf })
        let err = Pipeline.meanError(r.atlasToScan, truth, atlas: atlas)
        var off = p
        off.contrast?.basinSimilarity = nil
        let r2 = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: off, threads: 2))
        #expect(r2.contrast?.basin == nil)
        let err2 = Pipeline.meanError(r2.atlasToScan, truth, atlas: atlas)
        #expect(err < 1.5, "mean error \(err) mm (\(basin))")
        #expect(err2 > 5, "without the basin \(err2) mm: the case no longer shows what the stage is for")
    }

    /// The other way round: scale 0.85, a scalp a little brighter than the CSF. The basin stage
    /// lands in the wrong basin here, and the levels that follow leave it for the right place
    /// (more than the tolerance away): the head-shell similarity ranks theirs higher, so theirs is
    /// kept (measured 0.17 mm; the basin's result alone 9.6 mm).
    @Test func levelsThatLeaveAWrongBasinAreKept() throws {
        let (atlas, scan, truth) = try HeadShellTests.t2WithHead(moved: Self.small(0.85), scalp: 100, scalpOuterMM: 14)
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: try Pipeline.shippedProtocol(), threads: 2))
        let basin = try #require(r.contrast?.basin)
        let b = try #require(basin.basinHeadShellSimilarity), c = try #require(basin.chainHeadShellSimilarity)
        #expect(basin.chainDistanceMM > basin.toleranceMM && c > b && !basin.basinResultKept, "\(basin)")
        let err = Pipeline.meanError(r.atlasToScan, truth, atlas: atlas)
        #expect(err < 1.5, "mean error \(err) mm")
    }

    static func small(_ scale: Double) -> Decomposition {
        Decomposition(translation: SIMD3(3, -4, 5), rotationDegrees: SIMD3(7, -5, 6), scale: SIMD3(repeating: scale))
    }

    /// With a tolerance of 0 the path's levels always "leave" the basin, so the basin's result is
    /// the result: it differs from the default's, and is still near the truth (normalised
    /// gradient fields alone register the case).
    @Test func beyondTheToleranceTheBasinsResultIsKept() throws {
        let (atlas, scan, truth) = try HeadShellTests.t2WithHead(moved: Decomposition(translation: SIMD3(4, -6, 5), rotationDegrees: SIMD3(8, -5, 6),
                                                                                        scale: SIMD3(1.03, 0.98, 1.02)))
        let p = try Pipeline.shippedProtocol()
        var strict = p
        strict.contrast?.basinToleranceMM = 0
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        let s = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: strict, threads: 2))
        let b = try #require(s.contrast?.basin)
        #expect(b.basinResultKept && b.chainDistanceMM > 0)
        #expect(r.contrast?.basin?.basinResultKept == false, "\(String(describing: r.contrast?.basin))")
        #expect(s.atlasToScan != r.atlasToScan)
        // The levels ran in both (the record keeps them), from the same basin result.
        let steps = { (o: Registration.BasinOutcome?) in o?.levels.map { [$0.spacingMM, Double($0.iterations), $0.similarityEnd] } }
        #expect(s.levels.count == p.levels.count && steps(s.contrast?.basin) == steps(r.contrast?.basin))
        #expect(Pipeline.meanError(s.atlasToScan, truth, atlas: atlas) < 2)
    }

    /// A T1 on the T1 atlas takes the same-contrast path: no basin stage, nothing recorded.
    @Test func aSameContrastScanHasNoBasin() throws {
        let (atlas, _) = try Pipeline.t2Rendering()
        let centre = ImagePreparation.centreOfMass(atlas)!
        let truth = Affine.translation(centre) * Decomposition(translation: SIMD3(-4, 3, 5), rotationDegrees: SIMD3(-7, 5, 6)).affine
            * Affine.translation(-centre)
        let scan = resample(atlas, onto: atlas.grid, atlasToScan: try #require(truth.inverse))
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: try Pipeline.shippedProtocol(), threads: 2))
        #expect(r.contrast?.sameContrast == true && r.contrast?.basin == nil)
    }

    /// The keys: absent, no basin stage (the levels and tolerance keep their defaults 2 and 5); a
    /// measure name, a level count (1–8) and a tolerance (0–100 mm) are read; anything else is an
    /// error naming the key.
    @Test func theProtocolKeysReadAndRefuseOtherValues() throws {
        let absent = try Pipeline.shippedProtocol(contrastKey: "basinSimilarity", nil)
        #expect(absent.contrast?.basinSimilarity == nil)
        let shipped = try RegistrationProtocol.load(path: protocolsFolder + "/brain-affine.json")
        #expect(shipped.contrast?.basinSimilarity == .ngf && shipped.contrast?.basinLevels == 2 && shipped.contrast?.basinToleranceMM == 5)
        #expect(try Pipeline.shippedProtocol(contrastKey: "basinSimilarity", "mi").contrast?.basinSimilarity == .mi)
        #expect(try Pipeline.shippedProtocol(section: "contrast", key: "basinLevels", nil).contrast?.basinLevels == 2)
        #expect(try Pipeline.shippedProtocol(section: "contrast", key: "basinToleranceMM", nil).contrast?.basinToleranceMM == 5)
        for (key, value) in [("basinSimilarity", "edges" as Any), ("basinLevels", 0), ("basinLevels", 9), ("basinToleranceMM", -1)] {
            let e = #expect(throws: ProtocolError.self) { try Pipeline.shippedProtocol(section: "contrast", key: key, value) }
            #expect(e?.key == "contrast." + key, "\(String(describing: e))")
        }
    }
}

