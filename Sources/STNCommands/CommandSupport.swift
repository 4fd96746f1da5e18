import Foundation
import VolumeCore

/// Writes one line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data(("stnreg: " + line + "\n").utf8))
}

/// Stable, human-readable JSON (sorted keys, pretty-printed).
enum JSONText {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try StableJSON.encode(value), as: UTF8.self)
    }
}
