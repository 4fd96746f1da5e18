import Foundation
import JSONCore
import Testing

/// The one parser: what an audit line and a user file share, and the two ways they differ.
struct JSONParserTests {
    @Test func integersStayExactInBothModes() throws {
        for options in [JSONParser.Options.logLine, .file] {
            let v = try JSONParser.parse(Array("[9007199254740993, 1.5, 1e2, -7, 0.1]".utf8), options: options)
            #expect(v == [.int(9007199254740993), .double(1.5), .double(100), .int(-7), .double(0.1)])
            #expect(v.array?.compactMap(\.number) == [9007199254740992, 1.5, 100, -7, 0.1])
        }
    }

    @Test func duplicateKeysAreAnErrorInALogLineAndTheLastWinsInAFile() throws {
        let text = Array(#"{"a":1,"a":2}"#.utf8)
        #expect(throws: JSONSyntaxError(line: 1, column: 8, problem: "key 'a' appears twice")) {
            try JSONParser.parse(text, options: .logLine)
        }
        #expect(try JSONParser.parse(text, options: .file) == ["a": 2])
    }

    @Test func errorsNameTheLineAndColumnOfAFile() {
        let text = "{\n  \"a\": 1,\n  \"b\": [1, 2,]\n}"
        guard case .failure(let e) = JSONValue.parse(Data(text.utf8)) else { Issue.record("accepted"); return }
        #expect(e.line == 3 && e.column == 14)
        #expect(e.description == "line 3, column 14: unexpected character ']'")
        #expect(e.message == "unexpected character ']' at line 3, column 14")
    }

    @Test func depthLimitsDifferAndNeitherCrashes() {
        let deep = Array(String(repeating: "[", count: 200).utf8) + Array(String(repeating: "]", count: 200).utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep, options: .logLine) }
        #expect((try? JSONParser.parse(deep, options: .file)) != nil)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(String(repeating: "[", count: 5000).utf8), options: .file) }
    }

    @Test func anEarlyEndSaysLineInALogAndTextInAFile() {
        let text = Array(#"{"a":1"#.utf8)
        #expect(throws: JSONSyntaxError(line: 1, column: 7, problem: "unexpected end of line inside an object (the line is cut short)")) {
            try JSONParser.parse(text, options: .logLine)
        }
        #expect(throws: JSONSyntaxError(line: 1, column: 7, problem: "unexpected end of text inside an object")) {
            try JSONParser.parse(text, options: .file)
        }
    }

    @Test func controlBytesAreNamedNotPrinted() {
        #expect(throws: JSONSyntaxError(line: 1, column: 1, problem: "unexpected byte 0xB")) { try JSONParser.parse([0x0B], options: .file) }
    }
}
