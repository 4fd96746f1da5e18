import Foundation
import FuzzSupport
import NIfTIIO
import PropertyBased
import Registration
import Testing
import TestSupport
import TransformIO
import VolumeCore

/// Affines from their decomposition: rotations ±180°, scales 0.5…2, shears ±0.3, ±200 mm.
let affineGen = zip(
    Gen.double(in: -200...200).array(of: 3), Gen.double(in: -180...180).array(of: 3),
    Gen.double(in: 0.5...2).array(of: 3), Gen.double(in: -0.3...0.3).array(of: 3)
).map { t, r, s, h in
    Decomposition(translation: SIMD3(t[0], t[1], t[2]), rotationDegrees: SIMD3(r[0], r[1], r[2]),
                  scale: SIMD3(s[0], s[1], s[2]), shear: SIMD3(h[0], h[1], h[2])).affine
}

/// Parsers: round trips of what we write, and "arbitrary or mutated bytes → the parser's own
/// error naming the file on one line, never a crash".
struct ParserPropertyTests {
    let transforms = TransformFuzzTarget()

    @Test(arguments: TransformFormat.allCases)
    func transformFormatsRoundTrip(_ format: TransformFormat) async {
        await propertyCheck(count: 200, input: affineGen) { t in
            let data = try TransformFile.encode(t, format: format, atlasGrid: transforms.atlasGrid, scanGrid: transforms.scanGrid,
                                                centreRAS: SIMD3(3, -2, 1), file: "t")
            let back = try TransformFile.decode(data, format: format, atlasGrid: transforms.atlasGrid, scanGrid: transforms.scanGrid, file: "t")
            // Text formats print 17 significant digits at most; ANTs float .mat is not written.
            let err = Affine.maxAbsDifference(back, t)
            #expect(err < Tolerance.transformFileComposed * max(1, t.rowMajor4x4.map(abs).max()!), "\(format): error \(err)")
            // Detection finds the same format (FSL/NiftyReg by extension).
            let name = "t." + (format == .niftyReg ? "txt" : format.fileExtension)
            #expect(try TransformFormat.detect(data, file: name) == format)
        }
    }

    @Test func protocolJSONRoundTrips() async throws {
        let base = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json")
        let gen = zip(Gen.int(in: 1...8), Gen.double(in: 0.5...8), Gen.int(in: 0...500), Gen.double(in: 1e-4...0.5))
        await propertyCheck(count: 200, input: gen) { levels, finest, iterations, lr in
            var p = base
            p.levels = (0..<levels).map { n in .init(spacingMM: finest * Double(levels - n), iterations: iterations,
                                                      similarity: n % 2 == 0 ? .ncc : nil) }
            p.learningRate = lr
            p.transform = TransformModel.allCases[levels % 3]
            // Exact: JSONValue's own parser reads every Double back bit for bit (Foundation's
            // JSONSerialization read 0.00010000000000000002 as …05; found by this test).
            let back = try RegistrationProtocol.parse(try p.canonicalJSON(), path: "p.json")
            #expect(back == p)
        }
    }

    /// The value the round-trip property found (read 2 ulps off through JSONSerialization).
    @Test func longDecimalRoundTripsExactly() throws {
        var p = try RegistrationProtocol.load(path: repositoryFolder + "/Protocols/brain-affine.json")
        p.learningRate = 0.00010000000000000002
        #expect(try RegistrationProtocol.parse(try p.canonicalJSON(), path: "p.json").learningRate == 0.00010000000000000002)
    }

    @Test func arbitraryBytesGiveATransformFileError() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...300)) { bytes in
            for format in [nil] + TransformFormat.allCases.map(Optional.some) {
                do {
                    let t = try TransformFile.decode(Data(bytes), format: format, atlasGrid: transforms.atlasGrid,
                                                     scanGrid: transforms.scanGrid, file: "junk.mat")
                    #expect(t.isFinite && t.inverse != nil)
                } catch let e as TransformFileError {
                    #expect(e.description.hasPrefix("junk.mat: ") && !e.description.contains("\n"), "\(e)")
                } catch {
                    Issue.record("\(format.map(\.rawValue) ?? "detect"): \(type(of: error)): \(error)")
                }
            }
        }
    }

    @Test func arbitraryBytesGiveAProtocolError() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...300)) { bytes in
            #expect(ProtocolFuzzTarget().run(bytes, file: "junk.json") == .rejected(kind: "file"))
        }
    }

    @Test func arbitraryBytesGiveANIfTIError() async throws {
        let dir = makeTemporaryDirectory("fuzz-bytes")
        let target = NIfTIFuzzTarget()
        await propertyCheck(count: 150, input: Gen.uint8().array(of: 0...700), Gen.bool) { bytes, gz in
            let path = dir + "/junk" + (gz ? ".nii.gz" : ".nii")
            let data = gz ? GzipEncoder.gzip(bytes) : bytes
            let outcome = target.run(bytes: data, at: path, entry: .read)
            #expect(!outcome.isFinding, "\(outcome)")
        }
    }

    /// 1,000 mutations of the shipped protocols: a ProtocolError naming the file and (when it is
    /// about a value) the key, or a valid protocol.
    @Test func mutatedProtocolsGiveAProtocolError() throws {
        let folder = repositoryFolder + "/Protocols"
        // The shipped presets only (the folder may also hold other JSON, e.g. training checkpoints).
        let seeds = try RegistrationProtocol.builtInNames.map { n in
            (n, [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/" + n + ".json"))))
        }
        let mutator = TextMutator(seeds: seeds)
        var rejected = 0
        for n in 0..<1_000 {
            let input = mutator.input(seed: 11, index: n)
            let outcome = ProtocolFuzzTarget().run(input.bytes, file: "mutated.json")
            if case .finding(let f) = outcome { Issue.record("#\(n) \(input.recipe): \(f)") }
            if case .rejected = outcome { rejected += 1 }
        }
        #expect(rejected > 300)
    }

    /// 1,000 mutations of every transform format (forced and detected) and of stnreg's JSON.
    @Test func mutatedTransformFilesGiveATransformFileError() throws {
        let dir = makeTemporaryDirectory("fuzz-transform")
        let mutator = TextMutator(seeds: try transforms.seeds())
        var rejected = 0
        for n in 0..<1_000 {
            let input = mutator.input(seed: 12, index: n)
            let outcome = transforms.run(input.bytes, seedName: input.name, file: "mutated-" + input.name,
                                         jsonPath: dir + "/t.json", force: n % 2 == 0)
            if case .finding(let f) = outcome { Issue.record("#\(n) \(input.recipe): \(f)") }
            if case .rejected = outcome { rejected += 1 }
        }
        #expect(rejected > 300)
    }

    /// Exact messages for one malformed file of each kind: file, place, problem.
    @Test func malformedFilesNameFilePlaceAndProblem() throws {
        let e1 = #expect(throws: TransformFileError.self) {
            try TransformFile.decode(Data("1 0 0 0\n0 1 0 0\n0 0 x 0\n0 0 0 1\n".utf8), format: .niftyReg, file: "a.txt")
        }
        #expect(e1?.description.hasPrefix("a.txt: line 3: 'x' is not a number") == true, "\(String(describing: e1))")
        let e2 = #expect(throws: ProtocolError.self) {
            try RegistrationProtocol.parse(Data(#"{"format": "stnreg-protocol", "version": 1, "levels": 3}"#.utf8), path: "p.json")
        }
        #expect(e2?.description.hasPrefix("p.json: key '") == true, "\(String(describing: e2))")
        let dir = makeTemporaryDirectory("fuzz-json")
        let path = dir + "/t.json"
        try Data(#"{"format": "stnreg-transform", "version": 1, "atlasToScan": [[1,0,0,0],[0,1,0,0],[0,0,1,"x"],[0,0,0,1]]}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        let e3 = #expect(throws: TransformFileError.self) { try TransformFile.read(path: path) }
        #expect(e3?.description == "\(path): key 'atlasToScan' row 2 column 3: expected a finite number")
    }
}
