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

    @Test func temporaryNamesFollowOneSchemeAndParseBack() throws {
        let tmp = AtomicFile.temporaryPath(for: "/data/out/sub-01_warped.nii.gz")
        let name = URL(fileURLWithPath: tmp).lastPathComponent
        #expect(URL(fileURLWithPath: tmp).deletingLastPathComponent().path == "/data/out")
        let t = try #require(AtomicFile.TemporaryName(fileName: name))
        #expect(t.destination == "sub-01_warped.nii.gz" && t.pid == getpid() && !t.token.isEmpty && t.fileName == name)
        // AuditMerge's form without a token.
        #expect(AtomicFile.TemporaryName(fileName: ".m.jsonl.tmp-42") == .init(destination: "m.jsonl", pid: 42, token: ""))
        for other in ["out.json", ".hidden", ".x.tmp-", ".x.tmp-abc", ".x.tmp-12abc", "x.tmp-12", ".x.tmp-0"] {
            #expect(AtomicFile.TemporaryName(fileName: other) == nil, "\(other)")
        }
    }

    @Test func staleTemporariesOfDeadProcessesAreRemovedOthersKept() throws {
        let dir = makeTemporaryDirectory()
        // A process that has ended: a child we started and waited for.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = AtomicFile.TemporaryName(destination: "a.nii.gz", pid: child.processIdentifier, token: "x1").fileName
        let mine = URL(fileURLWithPath: AtomicFile.temporaryPath(for: dir + "/b.nii.gz")).lastPathComponent
        let parent = AtomicFile.TemporaryName(destination: "c.nii.gz", pid: getppid(), token: "y2").fileName
        for name in [dead, mine, parent, "d.nii.gz"] { try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        #expect(try AtomicFile.removeStaleTemporaries(in: dir) == [dead])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == [mine, parent, "d.nii.gz"])
        #expect(throws: AtomicFile.WriteError.self) { try AtomicFile.removeStaleTemporaries(in: dir + "/missing") }
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
            guard case .array(let a) = try JSONValue.parse(Data(text.utf8)).get(), let y = a[0].number else {
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
