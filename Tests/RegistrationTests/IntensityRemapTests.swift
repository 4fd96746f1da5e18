import Foundation
import NIfTIIO
@testable import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

/// ``IntensityRemap``: the conditional-mean table against the function it estimates, and the
/// cross-contrast path's finer levels against the remapped atlas (`contrast.intensityRemap`).
struct IntensityRemapTests {
    /// y = (x − 0.4)² on 64,001 evenly spaced x: the table at every bin centre is that function.
    /// The estimate averages f over the Parzen triangle (variance 1/6 bin²) and the smoothing
    /// Gaussian (σ = 1 bin): the bias is f''/2 · (1/6 + 1) bin² = 1 · 1.17 / 63² ≈ 3e-4 inside;
    /// at the two end bins the window is one-sided (its mean shifts by ≈ 0.8 bin, f' ≤ 1.2:
    /// ≈ 0.015). Double sums over Float inputs (≈ 1e-7 each): far below either bound.
    @Test func theTableIsTheConditionalMean() {
        let x = (0...64_000).map { Float($0) / 64_000 }
        let f = { (v: Double) in (v - 0.4) * (v - 0.4) }
        let y = x.map { Float(f(Double($0))) }
        let table = IntensityRemap.conditionalMean(of: y, given: x, weights: [Float](repeating: 1, count: x.count))
        #expect(table.count == IntensityRemap.bins)
        for b in table.indices {
            let centre = Double(b) / Double(table.count - 1)
            let tolerance = (4...(table.count - 5)).contains(b) ? 1e-3 : 0.03
            #expect(abs(table[b] - f(centre)) < tolerance, "bin \(b): \(table[b]) against \(f(centre))")
        }
        // The remapped image is the function of the input (interpolated between bin centres).
        let v = Volume(grid: Grid(dims: SIMD3(5, 1, 1), spacingMM: SIMD3(1, 1, 1), origin: .zero), voxels: [0.1, 0.3, 0.5, 0.77, 0.9])
        for (a, b) in zip(IntensityRemap.apply(table, to: v).voxels, v.voxels) {
            #expect(abs(Double(a) - f(Double(b))) < 1e-3, "\(b) → \(a), want \(f(Double(b)))")
        }
    }

    /// Bins no sample reaches take the nearest filled bin's mean; weight 0 leaves a sample out;
    /// no sample at all gives the identity.
    @Test func emptyBinsAndWeights() {
        let x: [Float] = [0.5, 0.5, 0.9], y: [Float] = [2, 2, 7], w: [Float] = [1, 1, 0]
        let table = IntensityRemap.conditionalMean(of: y, given: x, weights: w)
        #expect(table.allSatisfy { abs($0 - 2) < 1e-12 }, "\(table)")
        let identity = IntensityRemap.conditionalMean(of: y, given: x, weights: [0, 0, 0])
        for (b, v) in identity.enumerated() { #expect(v == Double(b) / Double(identity.count - 1)) }
    }

    /// The T2 rendering of the MNI152 (CSF bright, white matter dark), moved by a known affine:
    /// with `intensityRemap: atlas` the levels after the first optimise windowed NCC against the
    /// remapped atlas (and say so), the result is within 0.5 mm of the truth (the levels are the
    /// debug-length 6 and 4 mm ones: the shipped 2 mm level reaches 0.04–0.06 mm on the
    /// benchmark's exact-truth T2 cases), and 1 and 2 threads give the same bits.
    @Test func aT2RenderingRegistersAgainstTheRemappedAtlas() throws {
        let (atlas, scan, truth) = try CrossContrastPipelineTests.movedT2Rendering()
        var p = try CrossContrastPipelineTests.shippedProtocol()
        p.contrast?.intensityRemap = .atlas
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        #expect(r.contrast?.sameContrast == false)
        #expect(r.levels.map(\.similarityMeasure) == [.mi, .lncc])
        #expect(r.levels.map(\.atlasRemapped) == [false, true])
        let err = CrossContrastPipelineTests.meanError(r.atlasToScan, truth, atlas: atlas)
        #expect(err < 0.5, "mean error \(err) mm")
        let one = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 1))
        #expect(one.atlasToScan == r.atlasToScan)
    }

    /// An atlas with a head (Colin27's T1 with skull: 4.4 L of foreground on the search level,
    /// against 2.1 L for the MNI152 brain) is not remapped — its intensities do not name tissues
    /// (``IntensityRemap/atlasAllowsRemap(foregroundLitres:)``) — and the progress says so (the
    /// MNI152 brain is: ``aT2RenderingRegistersAgainstTheRemappedAtlas()``). The scan: that atlas with its intensities reversed inside the head (a
    /// contrast the probe sends down the cross-contrast path), moved by a known affine.
    @Test func anAtlasWithAHeadIsNotRemapped() throws {
        let atlas = try NIfTIReader.readVolume(CrossContrastPipelineTests.folder + "/colin27_t1_2mm.nii.gz")
        let top = atlas.voxels.max()!
        let reversed = Volume(grid: atlas.grid, voxels: atlas.voxels.map { $0 > 0.1 * top ? 1.1 * top - $0 : $0 })
        let centre = ImagePreparation.centreOfMass(atlas)!
        let truth = Affine.translation(centre) * Decomposition(translation: SIMD3(4, -5, 3), rotationDegrees: SIMD3(6, -5, 4)).affine
            * Affine.translation(-centre)
        let scan = resample(reversed, onto: atlas.grid, atlasToScan: try #require(truth.inverse))
        var p = try CrossContrastPipelineTests.shippedProtocol()
        p.contrast?.intensityRemap = .atlas
        let lines = LineCollector()
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2),
                                          progress: { lines.append($0) })
        #expect(r.contrast?.sameContrast == false, "\(String(describing: r.contrast))")
        #expect(r.levels.allSatisfy { !$0.atlasRemapped && $0.atlasRemapCorrelationRatio == nil }, "\(r.levels)")
        #expect(lines.all.contains { $0.contains("atlas not remapped: it holds a head") }, "\(lines.all)")
    }

    /// The key reads `off` (also when absent) and `atlas`; anything else is an error naming it.
    @Test func theProtocolKeyReadsAndRefusesOtherValues() throws {
        func parse(_ value: String?) throws -> RegistrationProtocol {
            try CrossContrastPipelineTests.shippedProtocol(contrastKey: "intensityRemap", value)
        }
        #expect(try parse(nil).contrast?.intensityRemap == .off)
        #expect(try parse("off").contrast?.intensityRemap == .off)
        #expect(try parse("atlas").contrast?.intensityRemap == .atlas)
        let e = #expect(throws: ProtocolError.self) { try parse("scan") }
        #expect(e?.key == "contrast.intensityRemap", "\(String(describing: e))")
    }
}

/// Progress lines gathered from a registration (the callback is @Sendable).
final class LineCollector: @unchecked Sendable {
    private var lines: [String] = []
    private let lock = NSLock()
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
