import ArgumentParser
import AuditLog
import Foundation

/// Hidden: appends N small records to a log (the concurrent-writers test starts several of these).
struct AuditAppendTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-test", abstract: "Append N test records to an audit log (for tests).", shouldDisplay: false)

    @Argument var log: String
    @Option var count: Int = 1
    @Option var tag: String = "test"
    @OptionGroup var signing: SigningOptions

    func run() throws {
        let file = AuditLogFile(path: log)
        let signer = try signing.signer()
        for n in 0..<count {
            try file.append(["id": .string(UUID().uuidString.lowercased()), "time": .string(Date().description),
                             "tag": .string(tag), "n": .int(Int64(n))], signer: signer)
        }
    }
}
