import Foundation
import Optimization
@testable import Registration
import Sampling
import Similarity
import Testing
import TestSupport
import VolumeCore

/// The Gauss-Newton curvature refinement assembles (measure → sampler → world → parameters),
/// against independent Double implementations of each measure's documented formula, and the
/// second-order optimisers on the registration problem.
struct SecondOrderRefinementTests {
    /// The pipeline samples the scan in Float (spatial gradient, warped values) where the
    /// references use the Double sampler; the curvature sums 10³–10⁴ such products: agreement
    /// to 1e-4 of the largest entry holds with two orders of margin on any CPU (no BLAS here).
    static let float32Sampling = 1e-4

    func level(_ kind: SimilarityKind, largeWindow: Bool = false) -> WorkingLevel {
        let ag = Grid(dims: SIMD3(12, 14, 10), spacingMM: SIMD3(6, 6, 6), origin: SIMD3(-33, -39, -27))
        let atlas = Phantom.blobs(grid: ag)
        let sg = Grid(dims: SIMD3(26, 24, 24), spacingMM: SIMD3(5, 5.5, 5), origin: SIMD3(-64, -66, -60))
        let t = Decomposition(translation: SIMD3(2, -1, 3), rotationDegrees: SIMD3(4, -3, 5)).affine
        let scan = resample(atlas, onto: sg, atlasToScan: t.inverse!)
        let a = ImagePreparation.robustNormalise(atlas, percentiles: (1, 99)).volume
        let s = ImagePreparation.robustNormalise(scan, percentiles: (1, 99)).volume
        return WorkingLevel(spacingMM: 6, atlas: a, mask: ImagePreparation.mask(a, threshold: 0.05, dilation: 1), scan: s,
                            similarity: kind, lnccRadius: kind == .lncc && largeWindow ? 2 : 1)
    }

    /// Per atlas voxel: the warped value and `J = ∂warped/∂(T's 12 entries)` in world space,
    /// `J_rc = (S_linᵀ ∇scan)_r · x̂_c` with `x̂ = (x, 1)` the voxel's world point (Double).
    func worldJacobians(_ lv: WorkingLevel, _ t: Affine) -> (values: [Double], jacobians: [[Double]]) {
        let grid = lv.atlas.grid, s = lv.scan.grid.worldToVoxel
        var values: [Double] = [], jacobians: [[Double]] = []
        for k in 0..<grid.dims.z { for j in 0..<grid.dims.y { for i in 0..<grid.dims.x {
            let x = grid.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
            let (v, g) = lv.sampler.valueAndGradient(at: s.apply(t.apply(x)))
            let gw = s.linear.transposed * g
            let xh = [x.x, x.y, x.z, 1]
            values.append(v)
            jacobians.append((0..<12).map { gw[$0 / 4] * xh[$0 % 4] })
        } } }
        return (values, jacobians)
    }

    func maxDifference(_ a: [Double], _ b: [Double]) -> (Double, Double) {
        (zip(a, b).map { abs($0 - $1) }.max()!, b.map(abs).max()!)
    }

    @Test func nccCurvatureMatchesItsFormula() throws {
        let lv = level(.ncc)
        let t = Decomposition(translation: SIMD3(1.5, -0.8, 2.1), rotationDegrees: SIMD3(3, -2, 4)).affine
        let (_, _, hT) = Refinement.lossGradientAndCurvature(level: lv, atlasToScan: t, threads: 1)
        let h = try #require(hT)
        let (x, jac) = worldJacobians(lv, t)
        let w = lv.mask.map(Double.init)
        let total = w.reduce(0, +)
        let mean = zip(w, x).reduce(0) { $0 + $1.0 * $1.1 } / total
        let vx = zip(w, x).reduce(0) { $0 + $1.0 * ($1.1 - mean) * ($1.1 - mean) }
        var sJ = [Double](repeating: 0, count: 12), sXJ = sJ, jj = [Double](repeating: 0, count: 144)
        for n in x.indices where w[n] > 0 {
            for a in 0..<12 {
                sJ[a] += w[n] * jac[n][a]
                sXJ[a] += w[n] * (x[n] - mean) * jac[n][a]
                for b in 0..<12 { jj[a * 12 + b] += w[n] * jac[n][a] * jac[n][b] }
            }
        }
        let reference = (0..<144).map { e in
            let a = e / 12, b = e % 12
            return (jj[e] - sJ[a] * sJ[b] / total - sXJ[a] * sXJ[b] / vx) / vx
        }
        let (diff, scale) = maxDifference(h, reference)
        #expect(diff <= SecondOrderRefinementTests.float32Sampling * scale, "difference \(diff) of \(scale)")
    }

    @Test func windowedNCCCurvatureMatchesItsFormula() throws {
        let lv = level(.lncc)
        let t = Decomposition(translation: SIMD3(1.5, -0.8, 2.1), rotationDegrees: SIMD3(3, -2, 4)).affine
        let (_, _, hT) = Refinement.lossGradientAndCurvature(level: lv, atlasToScan: t, threads: 1)
        let h = try #require(hT)
        let (x0, jac) = worldJacobians(lv, t)
        let grid = lv.atlas.grid, d = grid.dims, r = lv.lnccRadius
        let mean0 = x0.reduce(0, +) / Double(x0.count)
        let x = x0.map { $0 - mean0 }
        let a0 = lv.atlas.voxels.map(Double.init)
        let aMean = a0.reduce(0, +) / Double(a0.count)
        let a = a0.map { $0 - aMean }
        let m = lv.mask.map(Double.init), mTotal = m.reduce(0, +)
        var reference = [Double](repeating: 0, count: 144)
        func world(_ i: Int, _ j: Int, _ k: Int) -> [Double] {
            let p = grid.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
            return [p.x, p.y, p.z, 1]
        }
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x {
            let centre = i + d.x * (j + d.y * k)
            guard m[centre] > 0 else { continue }
            var win: [Int] = []
            for kk in max(0, k - r)...min(d.z - 1, k + r) { for jj in max(0, j - r)...min(d.y - 1, j + r) {
                for ii in max(0, i - r)...min(d.x - 1, i + r) { win.append(ii + d.x * (jj + d.y * kk)) }
            } }
            let n = Double(win.count)
            let sI = win.reduce(0) { $0 + x[$1] }, sJ = win.reduce(0) { $0 + a[$1] }
            let varI = win.reduce(0) { $0 + x[$1] * x[$1] } - sI * sI / n
            let varJ = win.reduce(0) { $0 + a[$1] * a[$1] } - sJ * sJ / n
            let cross = win.reduce(0) { $0 + x[$1] * a[$1] } - sI * sJ / n
            guard varI > 0 else { continue }
            let cc = cross * cross / (varI * varJ + 1e-5)
            let c = 2 * (m[centre] / mTotal) * cc / varI
            // The window's covariance of the (world) spatial gradient less its part explained
            // by I, ⊗ the centre's position (documented on PreparedLocalNCC's curvature).
            let xh = world(i, j, k)
            var gMean = SIMD3<Double>.zero, v = SIMD3<Double>.zero
            for y in win { gMean += SIMD3(jac[y][3], jac[y][7], jac[y][11]) / n }
            var m3 = [Double](repeating: 0, count: 9)
            for y in win {
                // J_r3 = g_r · 1: the world spatial gradient.
                let g = SIMD3(jac[y][3], jac[y][7], jac[y][11])
                v += (x[y] - sI / n) * g
                for p in 0..<3 { for q in 0..<3 { m3[p * 3 + q] += (g[p] - gMean[p]) * (g[q] - gMean[q]) } }
            }
            for p in 0..<3 { for q in 0..<3 { m3[p * 3 + q] -= v[p] * v[q] / varI } }
            for p in 0..<12 { for q in 0..<12 {
                reference[p * 12 + q] += c * m3[(p / 4) * 3 + q / 4] * xh[p % 4] * xh[q % 4]
            } }
        } } }
        let (diff, scale) = maxDifference(h, reference)
        #expect(diff <= SecondOrderRefinementTests.float32Sampling * scale, "difference \(diff) of \(scale)")
    }

    /// The gradient the second-order path hands the optimiser (through ``AffineParameters/jacobian(at:)``,
    /// not ``AffineParameters/chain(_:at:)``) against central differences of the loss.
    @Test(arguments: [SimilarityKind.ncc, .lncc])
    func secondOrderGradientMatchesFiniteDifferences(kind: SimilarityKind) {
        let lv = level(kind)
        let params = AffineParameters(start: .identity, centre: SIMD3(0, -2, 1), radiusMM: 40, model: .affine)
        var rng = SeededGenerator(seed: 5)
        let theta = (0..<12).map { _ in rng.uniform(-0.02, 0.02) }
        let (_, dT, _) = Refinement.lossGradientAndCurvature(level: lv, atlasToScan: params.transform(theta), threads: 1)
        let m = params.jacobian(at: theta)
        let analytic = m.map { column in zip(column, dT).reduce(0) { $0 + $1.0 * $1.1 } }
        // h = 1e-3: windowed NCC sums in Float32, and a step of 1e-4 moves the loss by ~1e-5,
        // too close to its rounding (the measure's own FD test uses the same step).
        let numeric = GradientCheck.numerical(theta, h: 1e-3) {
            Refinement.lossGradientAndCurvature(level: lv, atlasToScan: params.transform($0), threads: 1).0
        }
        #expect(GradientCheck.maxRelativeError(analytic, numeric, floor: Tolerance.finiteDifferenceFloor) < Tolerance.float32LossFiniteDifference,
                "analytic \(analytic) numeric \(numeric)")
    }

    /// Both second-order methods reach the loss a long Adam run reaches, in far fewer steps,
    /// and say they converged; NCC and windowed NCC use Levenberg-Marquardt, MI uses BFGS.
    @Test(arguments: SimilarityKind.allCases)
    func secondOrderReachesAdamsMinimumSooner(kind: SimilarityKind) {
        // The windowed measure with the presets' radius (2): a 3³ window on this 12 × 14 × 10
        // grid leaves the local-translation model of its curvature too coarse to converge fast.
        let lv = level(kind, largeWindow: true)
        let start = Affine.identity
        let adam = Refinement.run(level: lv, start: start, centre: SIMD3(0, -2, 1), radiusMM: 40, model: .affine,
                                  iterations: 400, learningRate: 0.02, optimizer: .adam, threads: 1)
        let second = Refinement.run(level: lv, start: start, centre: SIMD3(0, -2, 1), radiusMM: 40, model: .affine,
                                    iterations: 60, learningRate: 0.02, optimizer: .secondOrder, convergenceMM: 0.01, threads: 1)
        #expect(second.stopReason == .converged, "\(kind): \(second.stopReason) after \(second.evaluations) evaluations")
        #expect(second.similarityEnd >= adam.similarityEnd - 1e-4,
                "\(kind): second order \(second.similarityEnd) against Adam's \(adam.similarityEnd)")
        #expect(second.evaluations < 60)
        // Determinism: the same bits for 2 threads.
        let again = Refinement.run(level: lv, start: start, centre: SIMD3(0, -2, 1), radiusMM: 40, model: .affine,
                                   iterations: 60, learningRate: 0.02, optimizer: .secondOrder, convergenceMM: 0.01, threads: 2)
        #expect(again.atlasToScan == second.atlasToScan)
    }
}
