import Foundation
import Registration
import Testing
@testable import Workflows

/// `align` says when the atlas is not the one the shipped network was trained against.
struct AtlasNoteTests {
    @Test func notedOnlyForAnotherAtlas() throws {
        let protocolPath = repositoryFolder + "/Protocols/brain-affine.json"
        let settings = try RegistrationProtocol.load(path: protocolPath)
        let (predictor, _) = try AlignJob.loadPredictor(settings, protocolPath: protocolPath, useNetwork: true)
        #expect(predictor != nil)
        // The shipped model was trained against TestVolumes' MNI152 (README's training command).
        #expect(AlignJob.atlasNote(predictor, atlasPath: repositoryFolder + "/TestVolumes/mni152_t1_2mm.nii.gz") == nil)
        let note = try #require(AlignJob.atlasNote(predictor, atlasPath: repositoryFolder + "/TestVolumes/colin27_t1_2mm.nii.gz"))
        #expect(note.contains("trained against another atlas (mni152_t1_2mm.nii.gz)"))
        // No network, no note.
        #expect(AlignJob.atlasNote(nil, atlasPath: repositoryFolder + "/TestVolumes/colin27_t1_2mm.nii.gz") == nil)
    }
}
