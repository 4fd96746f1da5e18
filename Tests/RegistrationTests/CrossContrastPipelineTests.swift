import Foundation
import NIfTIIO
import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

/// The shipped preset's cross-contrast path on a real brain: a T2-like rendering of the 2 mm
/// MNI152 from its own tissue maps (CSF bright, grey matter mid, white matter dark — the reverse
/// of the T1 atlas), moved by a known affine, registered back to the T1.
struct CrossContrastPipelineTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("TestVolumes").path

    /// The shipped default with the levels shortened (6 and 4 mm) for debug builds; its
    /// contrast section (the probe: MI search, both translation searches; MI on every level for
    /// another contrast) and its normalised-MI check kept.
    static func shippedProtocol() throws -> RegistrationProtocol {
        var p = try RegistrationProtocol.load(path: protocolsFolder + "/brain-affine.json")
        p.network = nil
        p.initialisation.rotationSearch = .never
        p.levels = [.init(spacingMM: 6, iterations: 60), .init(spacingMM: 4, iterations: 40, similarity: .lncc)]
        return p
    }

    static func t2Rendering() throws -> (atlas: Volume, t2: Volume) {
        let atlas = try NIfTIReader.readVolume(folder + "/mni152_t1_2mm.nii.gz")
        let gm = try NIfTIReader.readVolume(folder + "/mni152_gm_2mm.nii.gz")
        let wm = try NIfTIReader.readVolume(folder + "/mni152_wm_2mm.nii.gz")
        var t2 = atlas
        for n in t2.voxels.indices {
            let g = gm.voxels[n] / 255, w = wm.voxels[n] / 255
            let csf = atlas.voxels[n] > 0 ? max(0, 1 - g - w) : 0   // inside the template: what is not tissue
            t2.voxels[n] = 100 * (0.45 * g + 0.25 * w + 1.0 * csf)
        }
        return (atlas, t2)
    }

    static func meanError(_ a: Affine, _ b: Affine, atlas: Volume) -> Double {
        var sum = 0.0, n = 0
        let g = atlas.grid
        for k in stride(from: 0, to: g.dims.z, by: 3) { for j in stride(from: 0, to: g.dims.y, by: 3) { for i in stride(from: 0, to: g.dims.x, by: 3) {
            guard atlas[i, j, k] > 60 else { continue }
            let x = g.voxelToWorld.apply(SIMD3(Double(i), Double(j), Double(k)))
            sum += length(a.apply(x) - b.apply(x)); n += 1
        } } }
        return sum / Double(max(1, n))
    }

    /// The 2 mm MNI152 T1 itself (the atlas's contrast) moved by a known rigid transform about its
    /// centre of mass (scan(T·x) = atlas(x)).
    static func movedT1() throws -> (atlas: Volume, scan: Volume, truth: Affine) {
        let (atlas, _) = try t2Rendering()
        let centre = ImagePreparation.centreOfMass(atlas)!
        let truth = Affine.translation(centre) * Decomposition(translation: SIMD3(-4, 3, 5), rotationDegrees: SIMD3(-7, 5, 6)).affine
            * Affine.translation(-centre)
        return (atlas, resample(atlas, onto: atlas.grid, atlasToScan: try #require(truth.inverse)), truth)
    }

    /// The T2 rendering moved by a known affine about the atlas's centre of mass (scan(T·x) = t2(x)).
    static func movedT2Rendering() throws -> (atlas: Volume, scan: Volume, truth: Affine) {
        let (atlas, t2) = try t2Rendering()
        let centre = ImagePreparation.centreOfMass(atlas)!
        let truth = Affine.translation(centre) * Decomposition(translation: SIMD3(5, -7, 4), rotationDegrees: SIMD3(9, -6, 7),
                                                               scale: SIMD3(1.04, 0.97, 1.02)).affine * Affine.translation(-centre)
        return (atlas, resample(t2, onto: atlas.grid, atlasToScan: try #require(truth.inverse)), truth)
    }

    /// The shipped default with one `contrast` key set to `value` (removed when nil), parsed as a
    /// protocol file: for the tests of that key's values.
    static func shippedProtocol(contrastKey key: String, _ value: String?) throws -> RegistrationProtocol {
        try shippedProtocol(section: "contrast", key: key, value)
    }

    /// The shipped brain-affine.json with `section.key` set to `value` (nil: removed), parsed.
    static func shippedProtocol(section: String, key: String, _ value: Any?) throws -> RegistrationProtocol {
        let data = try Data(contentsOf: URL(fileURLWithPath: protocolsFolder + "/brain-affine.json"))
        var obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var c = obj[section] as! [String: Any]
        c[key] = value
        obj[section] = c
        return try RegistrationProtocol.parse(try JSONSerialization.data(withJSONObject: obj), path: "x.json")
    }

    @Test func aT2RenderingIsRegisteredToTheT1Atlas() throws {
        let (atlas, scan, truth) = try Self.movedT2Rendering()
        let p = try Self.shippedProtocol()
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        let err = Self.meanError(r.atlasToScan, truth, atlas: atlas)
        #expect(err < 1, "mean error \(err) mm")
        let contrast = try #require(r.contrast)
        #expect(!contrast.sameContrast, "start NCC \(contrast.startNCC)")
        // MI on the first level; the shipped presets' `contrast.intensityRemap` then refines on
        // windowed NCC against the atlas remapped into the scan's contrast (the rendering's η²
        // clears the 0.1 minimum: IntensityRemapTests).
        #expect(r.levels.first?.similarityMeasure == .mi && r.levels.first?.atlasRemapped == false)
        #expect(r.levels.dropFirst().allSatisfy { $0.atlasRemapped && $0.similarityMeasure == .lncc },
                "\(r.levels.map { ($0.similarityMeasure, $0.atlasRemapCorrelationRatio) })")
        #expect(!r.flags.contains(.lowSimilarity), "NMI after \(r.similarityAfter)")

        // The same scan refined on the same-contrast measures is worse: what the decision is for.
        var same = p
        same.contrast = nil
        let r2 = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: same, threads: 2))
        let err2 = Self.meanError(r2.atlasToScan, truth, atlas: atlas)
        #expect(err2 > err, "same-contrast measures \(err2) mm, cross-contrast \(err) mm")
    }

    @Test func aT1ScanKeepsEachLevelsMeasure() throws {
        let (atlas, scan, truth) = try Self.movedT1()
        let r = try Registration.register(RegistrationRequest(scan: scan, atlas: atlas, settings: try Self.shippedProtocol(), threads: 2))
        #expect(try #require(r.contrast).sameContrast)
        #expect(r.levels.map(\.similarityMeasure) == [.ncc, .lncc])
        #expect(Self.meanError(r.atlasToScan, truth, atlas: atlas) < 0.5)
    }
}
