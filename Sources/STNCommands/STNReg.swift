import ArgumentParser
import Workflows

/// The `stnreg` root command: lists the subcommands.
public struct STNReg: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "stnreg",
        abstract: "Affine registration of 3D medical scans (NIfTI) to an atlas, with an auditable record.",
        version: STNRegBuild.version,
        subcommands: [AlignCommand.self, BatchCommand.self, ApplyCommand.self, TrainCommand.self, InfoCommand.self, MakeTestVolumesCommand.self, AuditCommand.self])

    public init() {}
}
