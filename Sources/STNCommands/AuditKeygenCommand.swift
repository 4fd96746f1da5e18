import ArgumentParser
import AuditLog

/// `stnreg audit keygen KEY`: a new Ed25519 key pair for signing audit records.
struct AuditKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make an Ed25519 key pair for signing audit logs: KEY (private, mode 0600) and KEY.pub.",
        discussion: """
        Never overwrites either file. Give KEY to --signing-key (or $STNREG_SIGNING_KEY, or \
        "signingKey" in the config file) of the commands that write records; give KEY.pub (several \
        joined with cat) to `audit verify --trusted-keys`. Keep KEY readable only by the account \
        that writes the log, and KEY.pub where that account cannot change it.
        """)

    @Argument(help: "The private key file to create.")
    var key: String

    @Option(name: .customLong("public"), help: "The public key file to create (default: KEY.pub).")
    var publicKey: String?

    func run() throws {
        let pub = publicKey ?? key + ".pub"
        let id = try AuditKeyFiles.generate(privateKeyPath: key, publicKeyPath: pub)
        print("wrote \(key) (private key, mode 0600) and \(pub) (public key); key id \(id)")
    }
}
