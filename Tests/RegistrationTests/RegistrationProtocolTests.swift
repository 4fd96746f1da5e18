import Foundation
import Registration
import Testing
import TestSupport

/// The repository's Protocols/ folder, found from this file's location.
let protocolsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Protocols").path

struct RegistrationProtocolTests {
    @Test(arguments: RegistrationProtocol.builtInNames)
    func shippedPresetsLoad(name: String) throws {
        let p = try RegistrationProtocol.load(path: protocolsFolder + "/\(name).json")
        #expect(p.name == name)
        #expect(p.version == RegistrationProtocol.currentVersion)
        #expect(!p.levels.isEmpty)
    }

    @Test func defaultIsAffineAndRigidIsRigid() throws {
        #expect(try RegistrationProtocol.load(path: protocolsFolder + "/brain-affine.json").transform == .affine)
        #expect(try RegistrationProtocol.load(path: protocolsFolder + "/rigid-same-subject.json").transform == .rigid)
    }

    /// Edits the default preset's JSON with `edit` and returns the parse error.
    func error(after edit: (inout [String: Any]) -> Void) throws -> ProtocolError? {
        let data = try Data(contentsOf: URL(fileURLWithPath: protocolsFolder + "/brain-affine.json"))
        var obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&obj)
        let edited = try JSONSerialization.data(withJSONObject: obj)
        do {
            _ = try RegistrationProtocol.parse(edited, path: "edited.json")
            return nil
        } catch let e as ProtocolError {
            return e
        }
    }

    @Test func unknownKeyIsNamed() throws {
        let e = try #require(try error { $0["iterationz"] = 3 })
        #expect(e.key == "iterationz")
        #expect(e.description.hasPrefix("edited.json: key 'iterationz': unknown key"))
    }

    @Test func nestedUnknownKeyIsNamedWithItsPath() throws {
        let e = try #require(try error { o in
            var levels = o["levels"] as! [[String: Any]]
            levels[1]["iters"] = 5
            o["levels"] = levels
        })
        #expect(e.key == "levels[1].iters")
    }

    @Test func wrongTypeIsNamed() throws {
        let e = try #require(try error { o in
            var ini = o["initialisation"] as! [String: Any]
            ini["centreOfMass"] = 1
            o["initialisation"] = ini
        })
        #expect(e.key == "initialisation.centreOfMass")
        #expect(e.problem.contains("expected true or false, found a number"))
        let e2 = try #require(try error { $0["learningRate"] = "fast" })
        #expect(e2.description == "edited.json: key 'learningRate': expected a number, found a string")
    }

    @Test func outOfRangeIsNamed() throws {
        let e = try #require(try error { o in
            var lim = o["limits"] as! [String: Any]
            lim["maxScale"] = 0.5
            o["limits"] = lim
        })
        #expect(e.key == "limits.maxScale")
        #expect(e.problem.contains("out of range"))
    }

    @Test func badEnumValueListsChoices() throws {
        let e = try #require(try error { $0["transform"] = "elastic" })
        #expect(e.description == "edited.json: key 'transform': 'elastic' is not one of 'rigid', 'similarity', 'affine'")
    }

    @Test func missingKeyAndWrongVersion() throws {
        let e = try #require(try error { $0.removeValue(forKey: "levels") })
        #expect(e.key == "levels")
        #expect(e.problem == "missing")
        let v = try #require(try error { $0["version"] = 2 })
        #expect(v.key == "version")
        #expect(v.problem.contains("reads protocol version 1"))
    }

    @Test func levelsMustGoCoarseToFine() throws {
        let e = try #require(try error { o in
            o["levels"] = [["spacingMM": 2, "iterations": 5], ["spacingMM": 4, "iterations": 5]]
        })
        #expect(e.key == "levels[1].spacingMM")
    }

    @Test func notJSON() {
        #expect(throws: ProtocolError.self) { try RegistrationProtocol.parse(Data("{ nope".utf8), path: "x.json") }
    }

    @Test func unknownNameListsPresets() {
        do {
            _ = try ProtocolLocator.resolve("no-such-preset")
            Issue.record("expected an error")
        } catch let e as ProtocolError {
            #expect(e.description.contains("brain-affine"))
        } catch { Issue.record("\(error)") }
    }
}

struct LevelSimilarityKeyTests {
    @Test func levelSimilarityIsOptionalAndValidated() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: protocolsFolder + "/brain-affine.json"))
        var obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        obj["levels"] = [["spacingMM": 4, "iterations": 5], ["spacingMM": 2, "iterations": 5, "similarity": "lncc"]]
        let p = try RegistrationProtocol.parse(try JSONSerialization.data(withJSONObject: obj), path: "x.json")
        #expect(p.levels[0].similarity == nil)
        #expect(p.levels[1].similarity == .lncc)
        obj["levels"] = [["spacingMM": 4, "iterations": 5, "similarity": "xcorr"]]
        do {
            _ = try RegistrationProtocol.parse(try JSONSerialization.data(withJSONObject: obj), path: "x.json")
            Issue.record("expected an error")
        } catch let e as ProtocolError {
            #expect(e.key == "levels[0].similarity")
        }
    }
}

/// The optional keys of the `training` section (and `network.applications`): defaults and ranges.
struct NetworkSectionOptionalKeyTests {
    func parse(_ section: String = "training", _ edit: (inout [String: Any]) -> Void) throws -> RegistrationProtocol {
        let data = try Data(contentsOf: URL(fileURLWithPath: protocolsFolder + "/brain-affine.json"))
        var obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var n = obj[section] as! [String: Any]
        edit(&n)
        obj[section] = n
        return try RegistrationProtocol.parse(try JSONSerialization.data(withJSONObject: obj), path: "x.json")
    }

    @Test func optionalKeysTakeTheirDefaultsWhenAbsent() throws {
        let p = try parse { n in
            for k in ["pooledSize", "trainLossBlurMM"] { n.removeValue(forKey: k) }
        }
        let n = try #require(p.training)
        #expect(n.pooledSize == 1 && n.trainLossBlurMM == 0)
        let q = try parse { n in n["pooledSize"] = 2; n["trainLossBlurMM"] = 4 }
        #expect(q.training?.pooledSize == 2 && q.training?.trainLossBlurMM == 4)
        #expect(try parse("network") { n in n["applications"] = 4 }.network?.applications == 4)
    }

    @Test(arguments: [("training", "pooledSize", 0.0), ("training", "pooledSize", 1.5), ("network", "applications", 5.0),
                      ("network", "applications", 0.0), ("training", "trainLossBlurMM", -1.0),
                      ("training", "centroids", 2.0), ("training", "centroids", 257.0)])
    func outOfRangeValuesAreNamed(section: String, key: String, value: Double) throws {
        do {
            _ = try parse(section) { n in n[key] = value }
            Issue.record("expected an error for \(key) = \(value)")
        } catch let e as ProtocolError {
            #expect(e.key == section + "." + key)
        }
    }
}
