import Foundation
import NIfTIIO
import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

struct CostMaskTests {
    let grid = Grid(dims: SIMD3(6, 5, 4), spacingMM: SIMD3(2, 2, 2))

    @Test func validatesDimsRangeAndEmptiness() throws {
        var m = Volume(grid: grid)
        #expect(throws: CostMask.Problem.empty) { try CostMask(m, for: grid) }
        m.voxels[3] = 0.7
        let ok = try CostMask(m, for: grid)
        #expect(ok.volume.voxels[3] == 1 && ok.volume.voxels.reduce(0, +) == 1)
        m.voxels[4] = 48   // a label map
        #expect(throws: CostMask.Problem.notBinary(min: 0, max: 48)) { try CostMask(m, for: grid) }
        let other = Grid(dims: SIMD3(6, 5, 5), spacingMM: SIMD3(2, 2, 2))
        #expect(throws: CostMask.Problem.wrongDims(mask: SIMD3(6, 5, 5), image: SIMD3(6, 5, 4))) {
            try CostMask(Volume(grid: other), for: grid)
        }
        // All ones is fine.
        #expect(try CostMask(Volume(grid: grid, voxels: [Float](repeating: 1, count: grid.voxelCount)), for: grid).fraction == 1)
    }

    /// A lesion: a bright blob over about 5 % of the brain of the 2 mm MNI152, in the scan only,
    /// moved with the scan by a known affine. Left out of the cost by the scan mask, the
    /// registration meets the 0.3 mm; the mask changes what is compared (a different
    /// result from the unmasked one, whose error the README reports beside it).
    @Test func aMaskedLesionDoesNotPullTheRegistration() throws {
        let (atlas, _) = try CrossContrastPipelineTests.t2Rendering()
        let centre = ImagePreparation.centreOfMass(atlas)!
        let lesionCentre = centre + SIMD3(25, 10, 15)
        // Brain voxels: atlas > 60 of 255; the blob's radius is chosen for ~5 % of them.
        let brain = atlas.voxels.filter { $0 > 60 }.count
        let radius = Foundation.pow(0.05 * Double(brain) * 8 / (4.0 / 3 * Double.pi), 1.0 / 3)   // voxels are 2 mm: 8 mm³
        var lesioned = atlas, lesionMask = Volume(grid: atlas.grid)
        let g = atlas.grid
        for k in 0..<g.dims.z { for j in 0..<g.dims.y { for i in 0..<g.dims.x {
            let x = g.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
            if length(x - lesionCentre) < radius {
                lesioned[i, j, k] = 255
                lesionMask[i, j, k] = 1
            }
        } } }
        let truth = Affine.translation(centre) * Decomposition(translation: SIMD3(4, -5, 3), rotationDegrees: SIMD3(6, -4, 5),
                                                               scale: SIMD3(1.03, 0.98, 1.01)).affine * Affine.translation(-centre)
        let scan = resample(lesioned, onto: atlas.grid, atlasToScan: try #require(truth.inverse))
        // The mask on the scan's grid: everything but the lesion (grown by one voxel).
        let movedLesion = resample(lesionMask, onto: atlas.grid, atlasToScan: try #require(truth.inverse))
        var keep = Volume(grid: scan.grid, voxels: [Float](repeating: 1, count: scan.grid.voxelCount))
        for n in keep.voxels.indices where movedLesion.voxels[n] > 0.01 { keep.voxels[n] = 0 }
        let p = try CrossContrastPipelineTests.shippedProtocol()
        let masked = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2,
                                                                   scanMask: try CostMask(keep, for: scan.grid)))
        let unmasked = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        let eMasked = CrossContrastPipelineTests.meanError(masked.atlasToScan, truth, atlas: atlas)
        let eUnmasked = CrossContrastPipelineTests.meanError(unmasked.atlasToScan, truth, atlas: atlas)
        #expect(eMasked < 0.3, "with the mask \(eMasked) mm, without \(eUnmasked) mm")
        #expect(masked.atlasToScan != unmasked.atlasToScan)
        // Same bits on one thread with a mask.
        let one = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 1,
                                                                scanMask: try CostMask(keep, for: scan.grid)))
        #expect(one.atlasToScan == masked.atlasToScan)
    }

    /// An atlas mask that leaves out half of the brain changes the result (the similarity counts
    /// only the other half) yet still registers a same-contrast scan.
    @Test func anAtlasMaskRestrictsTheCost() throws {
        let (atlas, _) = try CrossContrastPipelineTests.t2Rendering()
        let centre = ImagePreparation.centreOfMass(atlas)!
        let truth = Affine.translation(centre) * Decomposition(translation: SIMD3(-3, 4, 2), rotationDegrees: SIMD3(-5, 3, 6)).affine
            * Affine.translation(-centre)
        let scan = resample(atlas, onto: atlas.grid, atlasToScan: try #require(truth.inverse))
        var half = Volume(grid: atlas.grid)
        let g = atlas.grid
        for k in 0..<g.dims.z { for j in 0..<g.dims.y { for i in 0..<g.dims.x where g.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k))).x < centre.x {
            half[i, j, k] = 1
        } } }
        let p = try CrossContrastPipelineTests.shippedProtocol()
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2,
                                                              atlasMask: try CostMask(half, for: atlas.grid)))
        let full = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        #expect(r.atlasToScan != full.atlasToScan)
        #expect(CrossContrastPipelineTests.meanError(r.atlasToScan, truth, atlas: atlas) < 0.5)
    }
}
