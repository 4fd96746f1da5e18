import Foundation
import NIfTIIO
@testable import Registration
import Sampling
import Testing
import TestSupport
import VolumeCore

/// The second rotation search after a failed check (``Registration/retrySearch(_:mode:searched:)``).
struct SecondSearchTests {
    typealias Pipeline = CrossContrastPipelineTests

    /// Which second search runs: the protocol's measure in `fallback` mode before any search;
    /// NCC after a search on another measure (the cross-contrast path's MI); after a search on
    /// NCC, NCC again over the next ``RotationSearch/refinedCandidates`` ranks; none when no
    /// search may run (`never`).
    @Test func theSecondSearchTakesTheNextRanksOnTheSameMeasure() throws {
        let atlas = try NIfTIReader.readVolume(Pipeline.folder + "/mni152_t1_2mm.nii.gz")
        var p = try Pipeline.shippedProtocol()
        p.initialisation.searchSimilarity = .ncc
        let s = try Registration.prepare(RegistrationRequest(scan: atlas, atlas: atlas, settings: p, threads: 2))
        #expect(Registration.retrySearch(s, mode: .always, searched: true) == .init(kind: .ncc, skipping: RotationSearch.refinedCandidates))
        #expect(Registration.retrySearch(s, mode: .fallback, searched: false) == .init(kind: .ncc, skipping: 0))
        #expect(Registration.retrySearch(s, mode: .never, searched: false) == nil)
        let cross = s.crossContrast(try #require(p.contrast))
        #expect(cross.settings.initialisation.searchSimilarity == .mi)
        #expect(Registration.retrySearch(cross, mode: .always, searched: true) == .init(kind: .ncc, skipping: 0))
        #expect(Registration.retrySearch(cross, mode: .fallback, searched: false) == .init(kind: .mi, skipping: 0))
    }

    /// The ranks a search refines: refining the best two scored rotations keeps the better of
    /// refining the first alone and the second alone (`skipping: 1`), which differ; a skip past
    /// the last rank refines the last one rather than none.
    @Test func skippingRanksRefinesTheNextCandidates() throws {
        let (atlas, scan, _) = try Pipeline.movedT2Rendering()
        var p = try RegistrationProtocol.load(path: protocolsFolder + "/brain-affine.json")
        p.network = nil
        p.contrast = nil
        let s = try Registration.prepare(RegistrationRequest(scan: scan, atlas: atlas, settings: p, threads: 2))
        let ini = Registration.initialise(s)
        let first = Registration.search(s, from: ini, prediction: nil, refined: 1).atlasToScan
        let second = Registration.search(s, from: ini, prediction: nil, refined: 1, skipping: 1).atlasToScan
        let both = Registration.search(s, from: ini, prediction: nil, refined: 2).atlasToScan
        #expect(first != second)
        #expect(both == first || both == second)
        let last = Registration.search(s, from: ini, prediction: nil, refined: 1, skipping: 100_000).atlasToScan
        #expect(last != ini && last.linear.determinant.isFinite)
    }
}
