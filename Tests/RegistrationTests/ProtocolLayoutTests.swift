import Foundation
import Registration
import Testing

/// `network` (inference: model, applications) and `training` (architecture, output ranges, the
/// run) as separate sections; the older layout with everything in `network` still reads.
struct ProtocolLayoutTests {
    static let older = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/protocols/brain-affine-older-network-layout.json").path

    @Test func theOlderLayoutReadsToTheSameSettings() throws {
        let old = try RegistrationProtocol.load(path: Self.older)
        let new = try RegistrationProtocol.load(path: protocolsFolder + "/brain-affine.json")
        #expect(old == new)
        #expect(new.network?.model == "brain-affine.stnmodel" && new.network?.applications == 4)
        #expect(new.training?.gridSize == 64 && new.training?.blockChannels == [8, 16, 32] && new.training?.centroids == 64
                && new.training?.trainSteps == 6000)
        // Written back, the settings take the new layout.
        let text = String(decoding: try old.canonicalJSON(), as: UTF8.self)
        #expect(text.contains("\"training\" : {"))
        #expect(try RegistrationProtocol.parse(try old.canonicalJSON(), path: "back.json") == old)
    }

    func parse(_ edit: (inout [String: Any]) -> Void) throws -> RegistrationProtocol {
        let data = try Data(contentsOf: URL(fileURLWithPath: protocolsFolder + "/brain-affine.json"))
        var obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&obj)
        return try RegistrationProtocol.parse(try JSONSerialization.data(withJSONObject: obj), path: "x.json")
    }

    @Test func trainingKeysInBothSectionsAreAnErrorThatSaysWhereTheyGo() throws {
        let e = #expect(throws: ProtocolError.self) {
            try parse { o in
                var n = o["network"] as! [String: Any]
                n["gridSize"] = 32
                o["network"] = n
            }
        }
        #expect(e?.description == "x.json: key 'network.gridSize': belongs in the 'training' section (the older layout kept it in 'network'); 'network' holds only 'model' and 'applications'")
    }

    @Test func aMisspelledNetworkKeyListsTheInferenceKeys() throws {
        let e = #expect(throws: ProtocolError.self) {
            try parse { o in o["network"] = ["model": "m.stnmodel", "applications": 1, "aplications": 2] }
        }
        #expect(e?.description == "x.json: key 'network.aplications': unknown key (allowed here: model, applications)")
    }

    @Test func trainingIsOptionalAndNetworkNeedsOnlyModelAndApplications() throws {
        let p = try parse { o in
            o.removeValue(forKey: "training")
            o["network"] = ["model": "m.stnmodel", "applications": 3]
        }
        #expect(p.training == nil && p.network?.applications == 3)
        let e = #expect(throws: ProtocolError.self) { try parse { o in o["network"] = ["model": "m.stnmodel"] } }
        #expect(e?.description == "x.json: key 'network.applications': missing")
    }
}
