import Foundation
import NIfTIIO
import Sampling
import Testing
import TestSupport
@testable import Training
import VolumeCore

/// TestVolumes, read once per process.
private enum Volumes {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("TestVolumes").path
    static func read(_ name: String) -> Volume { try! NIfTIReader.readVolume(folder + "/\(name).nii.gz") }
    static let t1 = read("mni152_t1_2mm")
    static let gm = read("mni152_gm_2mm")
    static let wm = read("mni152_wm_2mm")
    static let mask = read("mni152_brainmask_2mm")
    static let memberships = TissueMemberships.fromProbabilityMaps(greyMatter: gm, whiteMatter: wm, brainMask: mask, t1: t1)
}

/// Mean of `v` over the voxels where `select` holds.
private func mean(_ v: Volume, where select: (Int) -> Bool) -> Double {
    var s = 0.0, n = 0
    for i in 0..<v.voxels.count where select(i) { s += Double(v.voxels[i]); n += 1 }
    return s / Double(max(n, 1))
}

private func pearson(_ a: [Float], _ b: [Float], where select: (Int) -> Bool) -> Double {
    var n = 0.0, sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
    for i in 0..<a.count where select(i) {
        let x = Double(a[i]), y = Double(b[i])
        n += 1; sa += x; sb += y; saa += x * x; sbb += y * y; sab += x * y
    }
    let cov = sab / n - sa / n * sb / n
    return cov / ((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n)).squareRoot()
}

struct SyntheticContrastTests {
    @Test func renderingIsDeterministicForASeed() {
        let m = Volumes.memberships
        var r1 = SeededGenerator(seed: 7), r2 = SeededGenerator(seed: 7), r3 = SeededGenerator(seed: 8)
        let a = SyntheticContrast.render(m, contrast: .t2, rng: &r1, threads: 1)
        let b = SyntheticContrast.render(m, contrast: .t2, rng: &r2, threads: 2)
        let c = SyntheticContrast.render(m, contrast: .t2, rng: &r3, threads: 1)
        #expect(a.grid == b.grid)
        #expect(a.voxels == b.voxels)
        #expect(a.voxels != c.voxels)
    }

    /// Mean signal over WM (wm > 90 %), GM (gm > 70 %) and CSF (membership > 50 %) of the
    /// MNI152, rendered with bias and noise on the input grid, in the documented order.
    @Test(arguments: Contrast.allCases)
    func tissueOrderingHoldsOnTheMNI152(_ contrast: Contrast) {
        let m = Volumes.memberships
        var rng = SeededGenerator(seed: 11)
        let v = SyntheticContrast.render(m, contrast: contrast, options: .init(thickSlices: nil), rng: &rng)
        let wmMap = m[.whiteMatter], gmMap = m[.greyMatter], csfMap = m[.csf]
        let wm = mean(v) { wmMap[$0] > 0.9 }, gm = mean(v) { gmMap[$0] > 0.7 }, csf = mean(v) { csfMap[$0] > 0.5 }
        #expect(csfMap.filter { $0 > 0.5 }.count > 5_000, "the CSF class includes the ventricles and sulci")
        switch contrast {
        case .t1: #expect(wm > gm && gm > csf, "T1 WM \(wm) GM \(gm) CSF \(csf)")
        case .t2: #expect(csf > gm && gm > wm, "T2 CSF \(csf) GM \(gm) WM \(wm)")
        case .pd: #expect(csf > 0.9 * gm && gm > wm && (gm - wm) < 0.3 * gm, "PD CSF \(csf) GM \(gm) WM \(wm)")
        case .flair: #expect(gm > wm && wm > csf, "FLAIR GM \(gm) WM \(wm) CSF \(csf)")
        }
    }

    @Test func thickSlicesHaveTheRequestedSpacingAndKeepTheCentre() {
        let m = Volumes.memberships
        var rng = SeededGenerator(seed: 3)
        let options = ContrastRenderingOptions(thickSlices: .init(axis: 2, thicknessMM: 5))
        let v = SyntheticContrast.render(m, contrast: .t2, options: options, rng: &rng)
        #expect(v.spacingMM == SIMD3(2, 2, 5))
        #expect(v.dims == SIMD3(m.grid.dims.x, m.grid.dims.y, (m.grid.dims.z - 1) * 2 / 5 + 1))
        #expect(length(v.grid.centreWorld - m.grid.centreWorld) < Tolerance.float64MatrixAlgebra)
        let back = SyntheticContrast.render(m, contrast: .t2, options: .init(thickSlices: .init(thicknessMM: 6, backToInputGrid: true)),
                                            rng: &rng)
        #expect(back.grid == m.grid)
        // Thick slices blur along k, not along i: the energy of the differences between
        // neighbouring slices drops, that between neighbouring columns much less.
        let clean = SyntheticContrast.tissueImage(m, contrast: .t2)
        let thickClean = resample(SyntheticContrast.thickSlices(clean, axis: 2, thicknessMM: 6), onto: m.grid)
        func energy(_ x: Volume, along a: Int) -> Double {
            var s = 0.0
            for k in 1..<x.dims.z { for j in 1..<x.dims.y { for i in 1..<x.dims.x {
                let d = x[i, j, k] - (a == 0 ? x[i - 1, j, k] : x[i, j, k - 1])
                s += Double(d * d)
            } } }
            return s
        }
        let ratioK = energy(thickClean, along: 2) / energy(clean, along: 2)
        let ratioI = energy(thickClean, along: 0) / energy(clean, along: 0)
        #expect(ratioK < 0.5 * ratioI, "energy kept along k \(ratioK), along i \(ratioI)")
    }

    /// Inside the brain mask a rendered T2 anticorrelates with the real T1 template, a rendered T1
    /// correlates strongly with it; PD and FLAIR are not required to have either sign.
    @Test func t2IsNegativelyCorrelatedWithT1InsideTheBrain() {
        let m = Volumes.memberships
        var rng = SeededGenerator(seed: 5)
        let t2 = SyntheticContrast.render(m, contrast: .t2, options: .init(thickSlices: nil), rng: &rng)
        let t1 = SyntheticContrast.render(m, contrast: .t1, options: .init(thickSlices: nil), rng: &rng)
        let mask = Volumes.mask.voxels
        let rT2 = pearson(t2.voxels, Volumes.t1.voxels) { mask[$0] > 0 }
        let rT1 = pearson(t1.voxels, Volumes.t1.voxels) { mask[$0] > 0 }
        #expect(rT2 < 0, "r(T2, T1) = \(rT2)")
        #expect(rT1 > 0.8, "r(rendered T1, T1) = \(rT1)")
    }

    @Test func membershipsFromProbabilityMapsSumToAtMostOne() {
        let m = Volumes.memberships
        var sum = [Float](repeating: 0, count: m.grid.voxelCount)
        for f in m.fractions { for v in 0..<sum.count { sum[v] += f[v] } }
        #expect(sum.allSatisfy { $0 <= 1 + Float(Tolerance.float32Accumulation) }, "largest sum \(sum.max()!)")
        #expect(m[.fat].allSatisfy { $0 == 0 } && m[.bone].allSatisfy { $0 == 0 } && m[.softTissue].allSatisfy { $0 == 0 })
    }

    /// On the MNI152 T1 (where the truth is known) the intensity-derived memberships find WM where
    /// the probability map has it, and a brain image with no head around it has no non-brain tissue.
    @Test func membershipsFromAT1FollowTheTissueMaps() {
        let derived = TissueMemberships.fromT1(Volumes.t1, brain: Volumes.mask)
        let wm = Volumes.wm.voxels, gm = Volumes.gm.voxels
        let dWM = derived[.whiteMatter]
        let inWM = mean(Volume(grid: derived.grid, voxels: dWM)) { wm[$0] > 230 }
        let inGM = mean(Volume(grid: derived.grid, voxels: dWM)) { gm[$0] > 180 }
        #expect(inWM > 0.7 && inGM < 0.3, "derived WM membership: \(inWM) in WM, \(inGM) in GM")
        let brainOnly = TissueMemberships.fromT1(Volumes.t1, brain: Volumes.t1)
        #expect(brainOnly[.fat].allSatisfy { $0 == 0 } && brainOnly[.bone].allSatisfy { $0 == 0 })
        #expect(derived[.bone].contains { $0 > 0 })
    }

    @Test func linearMembershipsReproduceTheIntensity() {
        let levels: [Float] = [30, 80, 110]
        for x: Float in [10, 30, 55, 80, 95, 110, 140] {
            let p = TissueMemberships.linearMemberships(x, levels: levels, belowFirst: true)
            #expect(abs(p.reduce(0, +) - 1) < Float(Tolerance.float32FewOperations))
            let back = zip(p, levels).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(back - min(110, max(30, x))) < Float(Tolerance.float32IntensitySum))
        }
    }
}
