import Foundation
import Network
import Testing
import TestSupport
import VolumeCore

struct ModelFileTests {
    func smallModel() throws -> (ModelFile, LocalizationNetwork) {
        let arch = NetworkArchitecture(gridSize: 8, inputChannels: 2, blockChannels: [4, 4], convolutionsPerBlock: 1,
                                       normalization: .group(groups: 2), leakySlope: 0.2, outputs: 12)
        let net = try LocalizationNetwork(architecture: arch, seed: 9)
        let prov = ModelFile.Provenance(tool: "test", created: "2026-01-01T00:00:00Z", commandLine: ["x"],
                                        atlas: .init(path: "a.nii", sha256: String(repeating: "0", count: 64)),
                                        trainingScans: [], validationScans: [], seed: 9, steps: 0, batchSize: 1, threads: 1,
                                        finalTrainingLoss: 0, finalValidationLoss: 0, seconds: 0)
        return (ModelFile(network: net, parameterMap: AffineParameterMap(), input: .init(gridSize: 8), provenance: prov), net)
    }

    @Test func roundTripRestoresEveryWeight() throws {
        let (m, net) = try smallModel()
        let (back, loaded) = try ModelFile.parse(try m.encoded(), path: "m.stnmodel")
        #expect(loaded.parameterTensors == net.parameterTensors)
        #expect(back.architecture == m.architecture)
        #expect(back.weightsSHA256 == m.weightsSHA256)
    }

    /// Re-encodes the model's JSON after `edit` and returns the load error.
    func error(_ edit: (inout [String: Any]) -> Void) throws -> ModelFileError? {
        let (m, _) = try smallModel()
        var o = try JSONSerialization.jsonObject(with: try m.encoded()) as! [String: Any]
        edit(&o)
        do {
            _ = try ModelFile.parse(try JSONSerialization.data(withJSONObject: o), path: "m.stnmodel")
            return nil
        } catch let e as ModelFileError {
            return e
        }
    }

    @Test func wrongFormatOrVersionIsRefused() throws {
        #expect(try error { $0["format"] = "something-else" }?.field == "format")
        let v = try #require(try error { $0["version"] = 7 })
        #expect(v.field == "version")
        #expect(v.description.contains("reads model version 1"))
    }

    @Test func corruptWeightsFailTheChecksum() throws {
        let e = try #require(try error { o in
            var tensors = o["tensors"] as! [[String: Any]]
            var data = Data(base64Encoded: tensors[0]["data"] as! String)!
            data[5] ^= 0x40
            tensors[0]["data"] = data.base64EncodedString()
            o["tensors"] = tensors
        })
        #expect(e.field == "weightsSHA256")
    }

    @Test func wrongShapeIsNamed() throws {
        let e = try #require(try error { o in
            var arch = o["architecture"] as! [String: Any]
            arch["blockChannels"] = [4, 8]
            o["architecture"] = arch
        })
        #expect(e.field == "tensors" || e.field == "architecture")
        #expect(e.problem.contains("block1") || e.problem.contains("shape") || e.problem.contains("expected"))
    }

    @Test func missingFieldIsNamed() throws {
        let e = try #require(try error { $0.removeValue(forKey: "parameterMap") })
        #expect(e.field == "parameterMap")
        #expect(e.problem == "missing")
    }

    @Test func truncatedFileIsRefused() throws {
        let (m, _) = try smallModel()
        let data = try m.encoded()
        #expect(throws: ModelFileError.self) { try ModelFile.parse(data.prefix(data.count / 2), path: "m.stnmodel") }
    }
}

struct NetworkFrameTests {
    @Test func gridSpansMinusOneToOne() {
        let f = NetworkFrame(gridSize: 5, centreMM: SIMD3(10, 20, 30), halfExtentMM: 40)
        let g = f.grid
        #expect(maxAbs(g.voxelToWorld.apply(SIMD3(0, 0, 0)) - SIMD3(-30, -20, -10)) < Tolerance.float64FewOperations)
        #expect(maxAbs(g.voxelToWorld.apply(SIMD3(4, 4, 4)) - SIMD3(50, 60, 70)) < Tolerance.float64FewOperations)
        #expect(maxAbs(f.voxelToNormalised.apply(SIMD3(2, 2, 2))) < Tolerance.float64FewOperations)
    }

    @Test func normalisedAndWorldTransformsRoundTrip() throws {
        var rng = SeededGenerator(seed: 4)
        let f = NetworkFrame(gridSize: 64, centreMM: SIMD3(1, -17, 9), halfExtentMM: 110)
        for _ in 0..<20 {
            let start = KnownTransforms.random(&rng), a = KnownTransforms.random(&rng, maxTranslation: 0.2)
            let t = f.atlasToScan(normalised: a, start: start)
            let back = try #require(f.normalised(atlasToScan: t, start: start))
            #expect(Affine.maxAbsDifference(back, a) < Tolerance.float64MatrixAlgebra)
        }
        // The identity prediction keeps the start.
        let s = KnownTransforms.random(&rng)
        #expect(Affine.maxAbsDifference(f.atlasToScan(normalised: .identity, start: s), s) < Tolerance.float64MatrixAlgebra)
    }
}
