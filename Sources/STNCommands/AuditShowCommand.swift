import ArgumentParser
import AuditLog
import TransformIO
import Workflows

/// `stnreg audit show ID`: one record in full; optionally its transform in another format.
struct AuditShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print one audit record in full and optionally re-export its transform.")

    @Argument(help: "The record: the start of its id or hash (4+ characters), or line:N.")
    var id: String

    @Option(help: "Audit log (default: stnreg-audit.jsonl in the current folder).")
    var log: String = "stnreg-audit.jsonl"

    @Option(help: "Write the record's transform to this file.")
    var export: String?

    @Option(help: "Format of --export: itkText, antsMat, fsl, niftyReg, lta, stnreg (its JSON: the transform only; FSL and LTA read the recorded input headers).")
    var format: TransformFormat?

    func validate() throws {
        if (export == nil) != (format == nil) { throw ValidationError("--export and --format go together") }
    }

    func run() throws {
        let record = try AuditRecordExport.find(id, in: log)
        print(PrettyJSON.string(.object(record.fields)))
        if let export, let format {
            try AuditRecordExport.export(record, log: log, format: format, to: export)
            printError("wrote \(export) (\(format.rawValue))")
        }
    }
}
