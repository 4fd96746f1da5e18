import Foundation
import Network
import NIfTIIO
import Sampling
import Testing
import TestSupport
@testable import Training
import VolumeCore

/// The TestVolumes label maps and the two anatomies made from them (read once).
enum SyntheticFixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/TestVolumes"
    static func read(_ stem: String) -> Volume { try! NIfTIReader.readVolume(folder + "/\(stem).nii.gz") }
    static let sources: SyntheticAnatomySources = {
        let f = SyntheticAnatomySources.fileStems
        return SyntheticAnatomySources(mniT1: read(f[0]), mniGreyMatter: read(f[1]), mniWhiteMatter: read(f[2]),
                                       mniBrainMask: read(f[3]), colinT1: read(f[4]), colinBrain: read(f[5]),
                                       harvardOxford: read(f[6]), aal: read(f[7]), jhu: read(f[8]))
    }()
    static let anatomies = SyntheticAnatomy.make(sources)

    /// A generator on a `gridSize`³ frame over the MNI152 atlas, and the atlas on that frame.
    static func generator(gridSize: Int, settings: SyntheticSubjectSettings = .init()) -> (SyntheticSubjectGenerator, Volume) {
        let recipe = NetworkInputRecipe(ModelFile.Input(gridSize: gridSize))
        let atlas = recipe.normalise(sources.mniT1)
        let frame = recipe.frame(forNormalisedAtlas: atlas)
        let g = SyntheticSubjectGenerator(anatomies: anatomies, settings: settings, frame: frame,
                                          atlasCentreMM: ImagePreparation.centreOfMass(atlas)!, percentiles: [1, 99])
        return (g, resample(atlas, onto: frame.grid, threads: 1))
    }
}

/// Pearson correlation of two images over the voxels where `b` is foreground.
private func correlation(_ a: Volume, _ b: Volume) -> Double {
    let idx = b.voxels.indices.filter { b.voxels[$0] > 0.05 }
    let ma = idx.reduce(0.0) { $0 + Double(a.voxels[$1]) } / Double(idx.count)
    let mb = idx.reduce(0.0) { $0 + Double(b.voxels[$1]) } / Double(idx.count)
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for n in idx {
        let x = Double(a.voxels[n]) - ma, y = Double(b.voxels[n]) - mb
        sab += x * y; saa += x * x; sbb += y * y
    }
    return sab / (saa * sbb).squareRoot()
}

struct SyntheticAnatomyTests {
    @Test func membershipsSumToAtMostOneAndEveryAtlasGivesParcels() {
        for a in SyntheticFixture.anatomies {
            let f = a.memberships.fractions
            for v in 0..<a.grid.voxelCount {
                let sum = f.reduce(Float(0)) { $0 + $1[v] }
                #expect(sum <= 1.0001, "\(a.name) voxel \(v): \(sum)")
                if sum > 1.0001 { break }
            }
            #expect(f[TissueMemberships.Tissue.fat.index].contains { $0 > 0.5 }, "\(a.name) has no head tissue")
        }
        let p = SyntheticFixture.anatomies[0].parcels
        let o = SyntheticAnatomy.parcelOffsets
        #expect(p.contains { Int($0) > o.harvardOxford && Int($0) <= o.aal })
        #expect(p.contains { Int($0) > o.aal && Int($0) < o.jhu })
        #expect(p.contains { Int($0) > o.jhu })
    }

    /// The label atlases land on the right anatomy: JHU tracts are white matter, and AAL's
    /// label 1 (Precentral_L) lies left of the midline (RAS: x < 0) and label 2 (_R) right.
    @Test func labelAtlasesAreWhereTheirAnatomyIs() {
        let a = SyntheticFixture.anatomies[0]
        let wm = a.memberships[.whiteMatter]
        let jhu = a.parcels.indices.filter { Int(a.parcels[$0]) > SyntheticAnatomy.parcelOffsets.jhu }
        let meanWM = jhu.reduce(0.0) { $0 + Double(wm[$1]) } / Double(jhu.count)
        #expect(meanWM > 0.6, "mean WM fraction over the JHU tracts \(meanWM)")
        func meanX(_ label: Int) -> Double {
            let idx = a.parcels.indices.filter { Int(a.parcels[$0]) == SyntheticAnatomy.parcelOffsets.aal + label }
            let g = a.grid
            return idx.reduce(0.0) { s, n in
                s + g.voxelToWorld.apply(SIMD3(Double(n % g.dims.x), Double(n / g.dims.x % g.dims.y), Double(n / (g.dims.x * g.dims.y)))).x
            } / Double(max(1, idx.count))
        }
        #expect(meanX(1) < -15 && meanX(2) > 15, "Precentral_L at x = \(meanX(1)), _R at \(meanX(2))")
    }
}

struct SyntheticSubjectTests {
    @Test func sameSeedSameBitsForOneAndTwoThreads() {
        // Slices thicker than the 32³ frame's ~6 mm voxels, so that every sample takes that path too.
        let (g, _) = SyntheticFixture.generator(gridSize: 32, settings: SyntheticSubjectSettings(sliceThicknessMM: 8...14, thickSliceShare: 1))
        var sliced = 0
        for seed in UInt64(1)...6 {
            let p = PerturbationRanges(maxRotationDegrees: 45, maxTranslationMM: 20, maxScale: 0.15, maxShear: 0.05)
            var r0 = SeededGenerator(seed: seed)
            let a = p.sample(&r0, fraction: 1, halfExtentMM: g.frame.halfExtentMM)
            var r1 = SeededGenerator(seed: seed * 7), r2 = SeededGenerator(seed: seed * 7)
            let s1 = g.sample(perturbation: a, rng: &r1, threads: 1), s2 = g.sample(perturbation: a, rng: &r2, threads: 2)
            #expect(s1.input.voxels.map(\.bitPattern) == s2.input.voxels.map(\.bitPattern))
            #expect(s1.t1.voxels.map(\.bitPattern) == s2.t1.voxels.map(\.bitPattern))
            #expect(s1.labels == s2.labels && s1.draw == s2.draw)
            if let s = s1.draw.slices, s.thicknessMM > g.frame.grid.spacingMM[s.axis] * 1.05 { sliced += 1 }
        }
        #expect(sliced == 6, "\(sliced) of 6 samples exercised the thick slices")
        // Another seed, another subject.
        var r3 = SeededGenerator(seed: 99), r4 = SeededGenerator(seed: 98)
        #expect(g.sample(perturbation: .identity, rng: &r3).input.voxels != g.sample(perturbation: .identity, rng: &r4).input.voxels)
    }

    @Test func drawsStayInTheirRanges() {
        let s = SyntheticSubjectSettings()
        let (g, _) = SyntheticFixture.generator(gridSize: 12, settings: s)
        var named = 0, skull = 0
        for seed in UInt64(1)...40 {
            var rng = SeededGenerator(seed: seed)
            let x = g.sample(perturbation: .identity, rng: &rng)
            let d = x.draw
            for a in 0..<3 { #expect(abs(d.brainScale[a] - 1) <= (1 + s.maxBrainScale) * 1.03 - 1 + 1e-12) }
            #expect(d.gamma >= 1 / s.maxGamma - 1e-12 && d.gamma <= s.maxGamma + 1e-12)
            #expect(d.biasAmplitude <= s.maxBiasAmplitude && d.noiseFraction <= s.maxNoiseFraction && d.blurMM <= s.maxBlurMM)
            if let t = d.slices { #expect(s.sliceThicknessMM.contains(t.thicknessMM) && (0...2).contains(t.axis)) }
            if let c = d.crop { #expect(c.fraction <= s.maxCropFraction) }
            #expect(d.signals.count == 6 && d.signals.allSatisfy { $0 >= 0 && $0 <= 1.1 })
            for v in x.input.voxels + x.t1.voxels { #expect(v.isFinite && v >= 0 && v <= 1) }
            named += d.contrast == nil ? 0 : 1
            skull += d.skullKept ? 1 : 0
        }
        // Shares of 50 %: 40 draws each land in 10…30 unless the draw is broken.
        #expect((10...30).contains(named) && (10...30).contains(skull), "named \(named), skull kept \(skull) of 40")
    }

    /// The T1 rendering follows the geometry: undeformed, it matches the atlas at the identity;
    /// moved by P it does not, and pulled back through P⁻¹ by the spatial transformer it does again.
    @Test func t1RenderingFollowsThePerturbation() {
        let settings = SyntheticSubjectSettings(maxBrainScale: 0, displacementMM: 0)
        let (g, atlas) = SyntheticFixture.generator(gridSize: 32, settings: settings)
        var rng = SeededGenerator(seed: 3)
        var found: SyntheticSample?
        for _ in 0..<20 {   // the MNI152 anatomy (the atlas's own subject)
            let s = g.sample(perturbation: .identity, rng: &rng)
            if s.draw.anatomy == 0 { found = s; break }
        }
        guard let still = found else { Issue.record("no MNI152 subject in 20 draws"); return }
        #expect(correlation(still.t1, atlas) > 0.9)
        let p = Decomposition(translation: SIMD3(0.08, -0.05, 0.03), rotationDegrees: SIMD3(25, -10, 15)).affine
        var moved: SyntheticSample?
        for _ in 0..<20 {
            let s = g.sample(perturbation: p, rng: &rng)
            if s.draw.anatomy == 0 { moved = s; break }
        }
        guard let m = moved else { Issue.record("no MNI152 subject in 20 draws"); return }
        let back = SpatialTransformer(frame: g.frame).forward(m.t1, normalised: p.inverse!, threads: 1).warped
        let before = correlation(m.t1, atlas), after = correlation(back, atlas)
        #expect(before < 0.6 && after > 0.85, "moved \(before), pulled back \(after)")
    }

    /// A named T1 draw orders the classes WM > GM > CSF; without skull the head is dark.
    @Test func intensitiesFollowTheLabels() {
        let clean = SyntheticSubjectSettings(namedContrastShare: 1, maxNoiseFraction: 0, maxBlurMM: 0, thickSliceShare: 0, cropShare: 0)
        let (g, _) = SyntheticFixture.generator(gridSize: 32, settings: clean)
        var checkedT1 = false, checkedSkull = false
        for seed in UInt64(1)...40 where !(checkedT1 && checkedSkull) {
            var rng = SeededGenerator(seed: seed)
            let s = g.sample(perturbation: .identity, rng: &rng)
            func mean(_ label: UInt8...) -> Double {
                let idx = s.labels.indices.filter { label.contains(s.labels[$0]) }
                return idx.reduce(0.0) { $0 + Double(s.input.voxels[$1]) } / Double(max(1, idx.count))
            }
            if s.draw.contrast == .t1 && !checkedT1 {
                #expect(mean(3) > mean(2) && mean(2) > mean(1), "WM \(mean(3)) GM \(mean(2)) CSF \(mean(1))")
                checkedT1 = true
            }
            if !s.draw.skullKept && !checkedSkull {
                #expect(mean(4, 5, 6) < 0.1 * mean(2, 3) + 0.02, "head \(mean(4, 5, 6)) brain \(mean(2, 3))")
                checkedSkull = true
            }
        }
        #expect(checkedT1 && checkedSkull)
    }
}

struct SyntheticTrainingTests {
    func configuration(steps: Int) -> TrainingConfiguration {
        var c = tinyConfiguration(steps: steps)
        c.ranges = PerturbationRanges(maxRotationDegrees: 45, maxTranslationMM: 20, maxScale: 0.15, maxShear: 0.05)
        c.synthetic = SyntheticSubjectSettings()
        return c
    }

    /// The dense head and the centroid head (whose tower sees the batch's shared atlas once).
    @Test(arguments: [0, 4])
    func sameWeightsForOneAndTwoThreads(centroids: Int) throws {
        let atlas = SyntheticFixture.sources.mniT1
        var c = configuration(steps: 3)
        c.architecture.centroids = centroids
        func train(threads: Int) throws -> [ParameterTensor] {
            let t = try Trainer(atlas: atlas, training: [], validation: [], configuration: c, threads: threads,
                                anatomies: SyntheticFixture.anatomies)
            try t.run(report: { _ in }, checkpoint: { _ in }, shouldStop: { false })
            return t.network.parameterTensors
        }
        let a = try train(threads: 1), b = try train(threads: 2)
        #expect(a == b)
        let untrained = try LocalizationNetwork(architecture: c.architecture, seed: 3).parameterTensors
        #expect(a != untrained)
    }

    @Test func syntheticTrainingNeedsAnatomies() {
        #expect(throws: TrainingError.self) {
            try Trainer(atlas: SyntheticFixture.sources.mniT1, training: [], validation: [], configuration: configuration(steps: 1), threads: 1)
        }
    }
}
