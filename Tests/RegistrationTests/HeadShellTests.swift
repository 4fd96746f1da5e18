import Foundation
import NIfTIIO
@testable import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

/// ``HeadShell``: when it applies, what it builds, and what it does for a scan with skull of
/// another contrast against a skull-stripped atlas.
struct HeadShellTests {
    /// Concentric spheres about the grid's centre: `values[n]` out to `radiiMM[n]`, 0 beyond.
    static func spheres(_ radiiMM: [Double], _ values: [Float], spacingMM: Double = 3, sizeMM: Double = 240) -> Volume {
        let n = Int(sizeMM / spacingMM)
        let grid = Grid(dims: SIMD3(n, n, n), spacingMM: SIMD3(repeating: spacingMM),
                        origin: SIMD3(repeating: -Double(n - 1) * spacingMM / 2))
        var v = Volume(grid: grid)
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            let r = length(grid.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k))))
            if let layer = radiiMM.firstIndex(where: { r <= $0 }) { v.voxels[grid.index(i, j, k)] = values[layer] }
        } } }
        return v
    }

    /// The skull-stripped MNI152 T1 (the atlas) and its T2 rendering given a head of other
    /// widths and intensities than the shell's — by distance from the brain, 3 mm bright CSF, a
    /// 5 mm dark skull, a 5 mm mid-grey scalp (by default: `scalp` is its intensity, `scalpOuterMM`
    /// its outer distance) — moved by `move` about the atlas's centre of mass
    /// (`truth`, atlas → scan) onto the atlas's grid grown by 16 mm on every side, so its head
    /// is not cut off.
    static func t2WithHead(moved move: Decomposition, scalp: Float = 55, scalpOuterMM: Float = 13) throws -> (atlas: Volume, scan: Volume, truth: Affine) {
        let (atlas, t2) = try CrossContrastPipelineTests.t2Rendering()
        let centre = ImagePreparation.centreOfMass(atlas)!
        let truth = Affine.translation(centre) * move.affine * Affine.translation(-centre)
        let brain = DistanceTransform.fillingHoles(atlas.voxels.map { $0 > 0 }, grid: atlas.grid)
        let d = DistanceTransform.euclidean(brain, grid: atlas.grid)
        var withHead = t2
        for n in d.indices where !brain[n] {
            withHead.voxels[n] = d[n] <= 3 ? 90 : d[n] <= 8 ? 5 : d[n] <= scalpOuterMM ? scalp : 0
        }
        let g = atlas.grid
        let grid = Grid(dims: g.dims &+ 16, voxelToWorld: g.voxelToWorld * Affine.translation(SIMD3(repeating: -8)))
        return (atlas, resample(withHead, onto: grid, atlasToScan: try #require(truth.inverse)), truth)
    }

    /// A 70 mm sphere is 1.44 L (a brain); with a dark 6 mm skull and a bright 6 mm scalp it is a
    /// 2.31 L head — the dark skull counts, being enclosed. 1 L = 1e6 mm³; a 3 mm voxel's partial
    /// volume at the surface makes the figures good to a few percent. The shell applies to an
    /// atlas below 2.6 L, not to a head of 3.26 L, and not to a scan covering under 0.6 of it.
    @Test func appliesToABrainOnlyAtlas() {
        let brain = Self.spheres([70], [0.8]), head = Self.spheres([70, 76, 82], [0.8, 0.01, 0.6])
        #expect(abs(HeadShell.filledForegroundLitres(brain) - 1.437) < 0.05)
        #expect(abs(HeadShell.filledForegroundLitres(head) - 2.310) < 0.08)
        #expect(HeadShell.decide(atlasLitres: HeadShell.filledForegroundLitres(brain), coverage: 1).applies)
        #expect(HeadShell.decide(atlasLitres: HeadShell.filledForegroundLitres(brain), coverage: 0.6).applies)
        #expect(!HeadShell.decide(atlasLitres: HeadShell.filledForegroundLitres(brain), coverage: 0.59).applies, "a thin slab")
        let bigHead = Self.spheres([78, 84, 92], [0.8, 0.01, 0.6])
        #expect(abs(HeadShell.filledForegroundLitres(bigHead) - 3.262) < 0.1)
        #expect(!HeadShell.decide(atlasLitres: HeadShell.filledForegroundLitres(bigHead), coverage: 1).applies)
    }

    /// The layers by distance from the brain, the brain itself unchanged, and the head mask, read
    /// along a ray from the centre. Distances are taken from the brain's edge on that ray (the last
    /// voxel of the brain's 0.7 at or above half of it), which the 2 mm grid places within a voxel.
    /// Tolerances: the 1 mm blur leaks exp-tail weight across a layer's edge; 1.5 mm (1.5 σ)
    /// from the nearest edge that is at most 0.067 of the step (0.6 to the bright scalp: 0.04).
    @Test func buildsTheLayersAroundTheBrain() throws {
        let brain = Self.spheres([60], [0.7], spacingMM: 1.5, sizeMM: 180)
        let (atlas, head) = HeadShell.build(atlas: brain, threads: 2)
        #expect(atlas.grid.spacingMM == SIMD3(repeating: HeadShell.buildSpacingMM))
        #expect(atlas.grid == head.grid)
        let c = atlas.grid.worldToVoxel.apply(.zero)
        let j = Int(c.y.rounded()), k = Int(c.z.rounded())
        let ray = (Int(c.x.rounded())..<atlas.dims.x).map { i in
            (r: atlas.grid.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k))).x, value: atlas[i, j, k], head: head[i, j, k])
        }
        let edge = try #require(ray.prefix(while: { $0.value >= 0.35 }).last).r
        #expect(abs(edge - 60) <= 2)
        for (r, value, inHead) in ray {
            let d = r - edge
            if d < -4 { #expect(abs(value - 0.7) < 1e-3, "brain at \(r) mm: \(value)") }
            if abs(d - 4.5) <= 1 { #expect(value < 0.02 + 0.04, "skull at \(r) mm: \(value)") }
            if abs(d - 10) <= 1.5 { #expect(abs(value - 0.6) < 0.04, "scalp at \(r) mm: \(value)") }
            if d > 13 + 4 { #expect(value < 1e-3, "outside at \(r) mm: \(value)") }
            if d < 12 { #expect(inHead == 1) }
            if d > 14 { #expect(inHead == 0) }
        }
    }

    /// A T2-like rendering of the MNI152 (CSF bright, white matter dark) given a head of its own
    /// — 3 mm bright CSF, a 5 mm dark skull, a 5 mm mid-grey scalp (other widths and intensities
    /// than the shell's) — moved by a known affine and registered to the skull-stripped MNI152 T1.
    /// The head shell must apply and its result must be within 1.5 mm of the truth (mean over the
    /// atlas brain; the plain atlas's figure is printed, and must be worse: without the shell the
    /// coarse stages fit the atlas brain to the head).
    @Test func registersAT2WithSkullToASkullStrippedAtlas() throws {
        let (atlas, scan, truth) = try Self.t2WithHead(moved: Decomposition(translation: SIMD3(4, -6, 5), rotationDegrees: SIMD3(8, -5, 6),
                                                                            scale: SIMD3(1.03, 0.98, 1.02)))
        let p = try CrossContrastPipelineTests.shippedProtocol()
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        let contrast = try #require(r.contrast)
        let shell = try #require(contrast.headShell)
        #expect(shell.applies, "atlas \(shell.atlasForegroundLitres) L")
        let err = CrossContrastPipelineTests.meanError(r.atlasToScan, truth, atlas: atlas)
        var off = p
        off.contrast?.headShell = .off
        let r2 = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: off, threads: 2))
        #expect(r2.contrast?.headShell == nil)
        let err2 = CrossContrastPipelineTests.meanError(r2.atlasToScan, truth, atlas: atlas)
        print("head shell: \(err) mm (same contrast: \(contrast.sameContrast)); without: \(err2) mm")
        #expect(err < 1.5, "mean error \(err) mm")
        #expect(err2 > err, "without the shell \(err2) mm, with it \(err) mm")
    }
}

extension HeadShellTests {
    /// `contrast.headShell` reads `auto` (also when absent) and `off`; anything else is an error
    /// naming the key.
    @Test func theProtocolKeyReadsAndRefusesOtherValues() throws {
        func parse(_ value: String?) throws -> RegistrationProtocol {
            try CrossContrastPipelineTests.shippedProtocol(contrastKey: "headShell", value)
        }
        #expect(try parse(nil).contrast?.headShell == .auto)
        #expect(try parse("auto").contrast?.headShell == .auto)
        #expect(try parse("off").contrast?.headShell == .off)
        let e = #expect(throws: ProtocolError.self) { try parse("always") }
        #expect(e?.key == "contrast.headShell", "\(String(describing: e))")
    }
}

extension HeadShellTests {
    /// The shelled level keeps what the plain level's mask leaves out of the atlas foreground (an
    /// atlas cost-function mask's exclusion, here a 12 mm cube inside the brain), covers the
    /// shell, and keeps the plain level's scan.
    @Test func theShelledLevelKeepsTheAtlasMasksExclusions() throws {
        let brain = Self.spheres([60], [0.7], spacingMM: 3, sizeMM: 180)
        var mask = ImagePreparation.mask(brain, threshold: Pyramid.foregroundThreshold, dilation: 1)
        let g = brain.grid
        func index(_ x: SIMD3<Double>) -> Int {
            let p = g.worldToVoxel.apply(x)
            return g.index(Int(p.x.rounded()), Int(p.y.rounded()), Int(p.z.rounded()))
        }
        for k in 0..<g.dims.z { for j in 0..<g.dims.y { for i in 0..<g.dims.x {
            let x = g.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
            if abs(x.x - 20) <= 6 && abs(x.y) <= 6 && abs(x.z) <= 6 { mask[g.index(i, j, k)] = 0 }
        } } }
        #expect(mask[index(SIMD3(20, 0, 0))] == 0 && mask[index(SIMD3(-20, 0, 0))] == 1)
        let plain = WorkingLevel(spacingMM: 3, atlas: brain, mask: mask, scan: brain, similarity: .mi, threads: 2)
        let shelled = HeadShell.level(HeadShell.build(atlas: brain, threads: 2), replacing: plain, threads: 2)
        #expect(shelled.spacingMM == 3 && shelled.similarity == .mi && shelled.scan.voxels == plain.scan.voxels)
        let h = shelled.atlas.grid
        func maskAt(_ x: SIMD3<Double>) -> Float {
            let p = h.worldToVoxel.apply(x)
            return shelled.mask[h.index(Int(p.x.rounded()), Int(p.y.rounded()), Int(p.z.rounded()))]
        }
        #expect(maskAt(SIMD3(20, 0, 0)) == 0, "the exclusion")
        #expect(maskAt(SIMD3(-20, 0, 0)) == 1, "the brain")
        #expect(maskAt(SIMD3(70, 0, 0)) == 1 && maskAt(SIMD3(0, -70, 0)) == 1, "the shell")
        #expect(maskAt(SIMD3(85, 0, 0)) == 0, "beyond the shell and a voxel of dilation")
    }
}

extension HeadShellTests {
    /// The choice between two results of a scan with skull against a skull-stripped atlas
    /// (``Registration/Prepared/headShellSimilarity(_:)``): against the atlas with the head shell
    /// the true placement scores above the atlas brain fitted to the whole head (the truth scaled
    /// by 1.12 about the atlas centre, as the real b0's wrong results were: scale 1.11–1.15);
    /// on a path without the shell there is no such score and the checked similarity decides.
    @Test func theHeadShellScoresTheBrainInTheHeadAboveTheBrainOnTheHead() throws {
        let (atlas, scan, truth) = try Self.t2WithHead(moved: Decomposition(translation: SIMD3(4, -6, 5), rotationDegrees: SIMD3(8, -5, 6)))
        let centre = ImagePreparation.centreOfMass(atlas)!
        let p = try CrossContrastPipelineTests.shippedProtocol()
        let plain = try Registration.prepare(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        let shelled = plain.crossContrast(try #require(p.contrast)).withHeadShell()
        #expect(shelled.headShelled && !plain.headShelled)
        let onTheHead = truth * Affine.translation(centre) * Decomposition(scale: SIMD3(repeating: 1.12)).affine * Affine.translation(-centre)
        let right = try #require(shelled.headShellSimilarity(truth)), wrong = try #require(shelled.headShellSimilarity(onTheHead))
        let plainRight = Refinement.checkedSimilarity(level: plain.finestLevel, atlasToScan: truth, measure: .nmi, threads: 2).value
        let plainWrong = Refinement.checkedSimilarity(level: plain.finestLevel, atlasToScan: onTheHead, measure: .nmi, threads: 2).value
        print("head-shell NGF: brain in the head \(right), atlas brain on the head \(wrong); checked NMI \(plainRight), \(plainWrong)")
        #expect(right > wrong, "brain in the head \(right), atlas brain on the head \(wrong)")
        #expect(plain.headShellSimilarity(truth) == nil)
        // Two results as refinement returns them; the plain path compares checked similarities.
        func refined(_ t: Affine, _ similarity: Double, _ flags: [QualityFlag] = []) -> Registration.Refined {
            .init(atlasToScan: t, levels: [], similarity: similarity, coverage: 1, flags: flags)
        }
        #expect(shelled.scores(refined(truth, 0.08), above: refined(onTheHead, 0.09)))
        #expect(!plain.scores(refined(truth, 0.08), above: refined(onTheHead, 0.09)))
    }

    /// ``Registration/better(_:than:headShell:)``: a result that passes the check beats one that
    /// fails whatever the scores; between two alike, the head-shell scores decide when given,
    /// else the checked similarity.
    @Test func theBetterResultPassesItsCheckThenScoresHigher() {
        func refined(_ similarity: Double, _ flags: [QualityFlag] = []) -> Registration.Refined {
            .init(atlasToScan: .identity, levels: [], similarity: similarity, coverage: 1, flags: flags)
        }
        let passing = refined(0.10), failing = refined(0.30, [.lowSimilarity])
        #expect(Registration.better(passing, than: failing))
        #expect(!Registration.better(failing, than: passing, headShell: (a: 0.9, b: 0.1)))
        #expect(Registration.better(refined(0.30), than: refined(0.10)))
        #expect(!Registration.better(refined(0.30), than: refined(0.10), headShell: (a: 0.40, b: 0.41)))
        #expect(Registration.better(refined(0.10, [.lowSimilarity]), than: refined(0.30, [.lowSimilarity]), headShell: (a: 0.41, b: 0.40)))
    }
}
