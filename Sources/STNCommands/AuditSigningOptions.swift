import ArgumentParser
import AuditLog
import NIfTIIO

/// `--signing-key`, shared by the commands that append audit records or write heads.
struct SigningOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Sign with this Ed25519 private key (from `stnreg audit keygen`).",
        discussion: "Without it: $STNREG_SIGNING_KEY, else \"signingKey\" in the config file ($STNREG_CONFIG, else ~/.config/stnreg/config.json); none: unsigned.",
        valueName: "key"))
    var signingKey: String?

    /// The signer the precedence picks (flag, environment, config file), or nil.
    func signer() throws -> AuditSigner? { try AuditSigningConfig.signer(flag: signingKey) }
}

/// `--non-finite reject|zero`, shared by align and batch.
enum NonFiniteChoice: String, ExpressibleByArgument, CaseIterable {
    case reject, zero

    var policy: NonFinitePolicy { self == .zero ? .replaceWithZero : .reject }
}
