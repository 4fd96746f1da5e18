import Foundation
import Testing
import TestSupport
import VolumeCore

struct AtomicFileTests {
    @Test func writesAndLeavesNoTemporaryFiles() throws {
        let dir = makeTemporaryDirectory()
        let path = dir + "/out.json"
        try AtomicFile.write(Data("hello".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "hello")
        try AtomicFile.write(Data("again".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "again")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.json"])
    }

    @Test func refusesToOverwriteAnInput() throws {
        let dir = makeTemporaryDirectory()
        let input = dir + "/scan.nii"
        try Data("input".utf8).write(to: URL(fileURLWithPath: input))
        #expect(throws: AtomicFile.WriteError.self) {
            try AtomicFile.write(Data("x".utf8), to: dir + "/./scan.nii", protectedInputs: [input])
        }
        #expect(try String(contentsOfFile: input, encoding: .utf8) == "input")
    }

    @Test func failureInProducerLeavesNothing() throws {
        struct Boom: Error {}
        let dir = makeTemporaryDirectory()
        #expect(throws: Boom.self) {
            try AtomicFile.withTemporary(for: dir + "/x.bin") { tmp in
                try Data("partial".utf8).write(to: URL(fileURLWithPath: tmp))
                throw Boom()
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func missingFolderIsAClearError() {
        do {
            try AtomicFile.write(Data("x".utf8), to: "/nonexistent-dir-stnreg/out.json")
            Issue.record("expected an error")
        } catch let e as AtomicFile.WriteError {
            #expect(e.description.contains("/nonexistent-dir-stnreg/out.json"))
            #expect(e.description.contains("does the folder exist"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

struct JSONValueTests {
    @Test func keepsBooleansAndNumbersApart() throws {
        let v = try JSONValue.parse(Data(#"{"a":1,"b":true,"c":0,"d":1.5,"e":[false,"x",null]}"#.utf8)).get()
        #expect(v == .object(["a": .number(1), "b": .bool(true), "c": .number(0), "d": .number(1.5),
                              "e": .array([.bool(false), .string("x"), .null])]))
    }

    @Test func malformedInputIsAnErrorNotACrash() {
        for text in ["{", "[1,", "{\"a\":}", "nope", String(repeating: "[", count: 5000)] {
            if case .success = JSONValue.parse(Data(text.utf8)) { Issue.record("accepted \(text.prefix(20))") }
        }
    }
}

struct JSONValueExactnessTests {
    @Test func numbersReadBackBitForBit() throws {
        var rng = SeededGenerator(seed: 12)
        for _ in 0..<500 {
            let x = rng.uniform(-1e6, 1e6) * pow(10, rng.uniform(-20, 5))
            let text = String(decoding: try JSONEncoder().encode([x]), as: UTF8.self)
            guard case .array(let a) = try JSONValue.parse(Data(text.utf8)).get(), case .number(let y) = a[0] else {
                Issue.record("not parsed: \(text)"); continue
            }
            #expect(y.bitPattern == x.bitPattern, "\(text)")
        }
    }

    @Test func stringsWithEscapes() throws {
        let v = try JSONValue.parse(Data(#"["a\"b\\c\/\n\u00e9\ud83d\ude00"]"#.utf8)).get()
        #expect(v == .array([.string("a\"b\\c/\né😀")]))
    }
}
