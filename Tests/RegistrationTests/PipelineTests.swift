import Foundation
import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

/// A small protocol for phantoms on coarse grids (debug builds are slow at voxel loops).
func phantomProtocol(_ model: TransformModel, rotationSearch: RotationSearchMode = .never) throws -> RegistrationProtocol {
    var p = try RegistrationProtocol.load(path: protocolsFolder + "/brain-affine.json")
    p.transform = model
    p.initialisation.searchSpacingMM = 8
    p.initialisation.rotationSearch = rotationSearch
    p.levels = [.init(spacingMM: 8, iterations: 60), .init(spacingMM: 4, iterations: 60)]
    p.limits.minFinalSimilarity = 0.5
    // Same-contrast phantoms: the measures of the protocol these tests were written for
    // (the shipped preset's cross-contrast settings are tested in CrossContrastPipelineTests).
    p.limits.checkMeasure = .ncc
    p.contrast = nil
    p.initialisation.searchSimilarity = .ncc
    p.initialisation.translationSearchFeatures = .intensity
    return p
}

/// Mean distance (mm) between two transforms over the atlas grid's voxel centres.
func meanDistance(_ a: Affine, _ b: Affine, over grid: Grid) -> Double {
    var s = 0.0
    var n = 0
    for k in stride(from: 0, to: grid.dims.z, by: 2) {
        for j in stride(from: 0, to: grid.dims.y, by: 2) {
            for i in stride(from: 0, to: grid.dims.x, by: 2) {
                let x = grid.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
                s += length(a.apply(x) - b.apply(x)); n += 1
            }
        }
    }
    return s / Double(n)
}

struct PipelineTests {
    let atlasGrid = Grid(dims: SIMD3(28, 30, 26), spacingMM: SIMD3(4, 4, 4), origin: SIMD3(-54, -58, -50))

    @Test func recoversAKnownRigidTransform() throws {
        let atlas = Phantom.blobs(grid: atlasGrid)
        let truth = Decomposition(translation: SIMD3(6, -4, 3), rotationDegrees: SIMD3(8, -5, 10)).affine
        // scan(T·x) = atlas(x)  ⇒  scan = atlas warped by T⁻¹ (on a grid that covers it).
        let scanGrid = Grid(dims: SIMD3(32, 32, 32), spacingMM: SIMD3(4, 4, 4), origin: SIMD3(-60, -62, -60))
        let scan = resample(atlas, onto: scanGrid, atlasToScan: try #require(truth.inverse))
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: phantomProtocol(.rigid), threads: 2))
        let err = meanDistance(r.atlasToScan, truth, over: atlasGrid)
        #expect(err < 0.5, "mean error \(err) mm")
        #expect(r.similarityAfter > 0.95)
        #expect(r.flags.isEmpty)
    }

    @Test func sameResultWithOneAndTwoThreads() throws {
        let atlas = Phantom.blobs(grid: atlasGrid)
        let truth = Decomposition(translation: SIMD3(3, 2, -1), rotationDegrees: SIMD3(0, 6, 0)).affine
        let scan = resample(atlas, onto: atlasGrid, atlasToScan: try #require(truth.inverse))
        let p = try phantomProtocol(.affine)
        let r1 = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 1))
        let r2 = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        #expect(r1.atlasToScan == r2.atlasToScan)
        #expect(r1.similarityAfter == r2.similarityAfter)
    }
}
