import Foundation
import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

/// Levels finer than the images are skipped (they would only interpolate).
struct LevelSelectionTests {
    func grid(_ s: SIMD3<Double>) -> Grid { Grid(dims: SIMD3(40, 40, 40), spacingMM: s) }
    func levels(_ spacings: [Double]) -> [RegistrationProtocol.Level] { spacings.map { .init(spacingMM: $0, iterations: 10) } }

    @Test func levelsFinerThanTheCoarserImageAreSkipped() {
        // Two 3.5 mm frames: the 2 mm level goes (limit 0.8 × 3.5 = 2.8 mm), 3 mm stays.
        var r = Registration.levels(levels([6, 3, 2]), scan: grid(SIMD3(repeating: 3.5)), atlas: grid(SIMD3(repeating: 3.5)))
        #expect(r.kept.map(\.spacingMM) == [6, 3])
        #expect(r.skipped.map(\.spacingMM) == [2])
        // A 1 mm scan to a 2 mm atlas: the atlas limits (1.6 mm): 1.5 mm goes, 2 mm stays.
        r = Registration.levels(levels([6, 3, 2, 1.5]), scan: grid(SIMD3(repeating: 1)), atlas: grid(SIMD3(repeating: 2)))
        #expect(r.kept.map(\.spacingMM) == [6, 3, 2])
        // A 1 × 1 × 5 mm clinical scan counts at its in-plane 1 mm (the median spacing): everything down to 1.5 mm stays.
        r = Registration.levels(levels([6, 3, 2, 1.5]), scan: grid(SIMD3(1, 1, 5)), atlas: grid(SIMD3(repeating: 1)))
        #expect(r.kept.map(\.spacingMM) == [6, 3, 2, 1.5])
        #expect(Registration.coarserVoxelMM(scan: grid(SIMD3(1, 1, 5)), atlas: grid(.one)) == 1)
        // 2 × 2 × 5 mm slices to a 2 mm atlas: 2 mm (limit 1.6 mm), so the 2 mm level stays — the
        // geometric mean (2.71 mm, limit 2.17) dropped it, and with it most of the precision.
        r = Registration.levels(levels([6, 3, 2]), scan: grid(SIMD3(2, 5, 2)), atlas: grid(SIMD3(repeating: 2)))
        #expect(r.kept.map(\.spacingMM) == [6, 3, 2])
        // The two coarsest levels are always kept (the first alone is only a coarse global fit).
        r = Registration.levels(levels([6, 3, 2]), scan: grid(SIMD3(repeating: 8)), atlas: grid(SIMD3(repeating: 8)))
        #expect(r.kept.map(\.spacingMM) == [6, 3])
        #expect(r.skipped.map(\.spacingMM) == [2])
        // A 4 × 4 × 5 mm b0 (4 mm, limit 3.2 mm): 3 mm stays as the second level.
        r = Registration.levels(levels([6, 3, 2]), scan: grid(SIMD3(4, 4, 5)), atlas: grid(SIMD3(repeating: 1)))
        #expect(r.kept.map(\.spacingMM) == [6, 3])
        r = Registration.levels(levels([4]), scan: grid(SIMD3(repeating: 8)), atlas: grid(SIMD3(repeating: 8)))
        #expect(r.kept.map(\.spacingMM) == [4])
    }

    @Test func aRegistrationReportsOnlyTheLevelsItRan() throws {
        let atlasGrid = Grid(dims: SIMD3(20, 22, 18), spacingMM: SIMD3(6, 6, 6), origin: SIMD3(-57, -63, -51))
        let atlas = Phantom.blobs(grid: atlasGrid)
        let truth = Decomposition(translation: SIMD3(4, -3, 2), rotationDegrees: SIMD3(5, -4, 6)).affine
        let scanGrid = Grid(dims: SIMD3(24, 24, 24), spacingMM: SIMD3(6, 6, 6), origin: SIMD3(-69, -69, -69))
        let scan = resample(atlas, onto: scanGrid, atlasToScan: try #require(truth.inverse))
        var p = try phantomProtocol(.rigid)
        p.levels = [.init(spacingMM: 8, iterations: 60), .init(spacingMM: 6, iterations: 40), .init(spacingMM: 3, iterations: 40)]
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        #expect(r.levels.map(\.spacingMM) == [8, 6])
        #expect(meanDistance(r.atlasToScan, truth, over: atlasGrid) < 1.0)
    }
}
