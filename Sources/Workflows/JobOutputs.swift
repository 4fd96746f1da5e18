/// The files `stnreg align` writes for output prefix `P` (see ``AlignJob``), by role. The role
/// names are the transform JSON's `outputs` keys and the audit record's `outputs[].role`.
public struct AlignOutputs: Sendable, Equatable {
    public enum Role: String, CaseIterable, Sendable {
        case warped, transform, itk, ants, fsl, niftyreg, lta
    }

    /// Output prefix (folder and file stem).
    public var prefix: String

    public init(prefix: String) { self.prefix = prefix }

    /// The path of `role`: `P_warped.nii.gz`, `P_transform.json`, `P_itk.tfm`, `P_ants.mat`,
    /// `P_fsl.mat`, `P_niftyreg.txt`, `P.lta`.
    public subscript(_ role: Role) -> String {
        switch role {
        case .warped: return prefix + "_warped.nii.gz"
        case .transform: return prefix + "_transform.json"
        case .itk: return prefix + "_itk.tfm"
        case .ants: return prefix + "_ants.mat"
        case .fsl: return prefix + "_fsl.mat"
        case .niftyreg: return prefix + "_niftyreg.txt"
        case .lta: return prefix + ".lta"
        }
    }

    public var warped: String { self[.warped] }
    public var transform: String { self[.transform] }

    /// Every output, in ``Role`` order.
    public var all: [(role: Role, path: String)] { Role.allCases.map { ($0, self[$0]) } }

    /// Role name → path (the transform JSON's `outputs`).
    public var byRole: [String: String] {
        Dictionary(uniqueKeysWithValues: all.map { ($0.role.rawValue, $0.path) })
    }
}

/// The files a 4D series job writes for output prefix `P` (see ``SeriesJob``), by role.
public struct SeriesOutputs: Sendable, Equatable {
    public enum Role: String, CaseIterable, Sendable {
        case warped, transforms, motionCSV, motionPlot
    }

    /// Output prefix (folder and file stem).
    public var prefix: String

    public init(prefix: String) { self.prefix = prefix }

    /// `P_warped.nii.gz`, `P_transforms.json`, `P_motion.csv`, `P_motion.png`.
    public subscript(_ role: Role) -> String {
        switch role {
        case .warped: return prefix + "_warped.nii.gz"
        case .transforms: return prefix + "_transforms.json"
        case .motionCSV: return prefix + "_motion.csv"
        case .motionPlot: return prefix + "_motion.png"
        }
    }

    /// Every output, in ``Role`` order.
    public var all: [(role: Role, path: String)] { Role.allCases.map { ($0, self[$0]) } }

    /// Role name → path (each frame's transform record's `outputs`).
    public var byRole: [String: String] {
        Dictionary(uniqueKeysWithValues: all.map { ($0.role.rawValue, $0.path) })
    }
}

extension AlignOutputs.Role {
    /// The role in the audit record.
    public var auditRole: AuditRecordPayload.OutputRole {
        switch self {
        case .warped: .warped
        case .transform: .transform
        case .itk: .itk
        case .ants: .ants
        case .fsl: .fsl
        case .niftyreg: .niftyreg
        case .lta: .lta
        }
    }
}

extension SeriesOutputs.Role {
    /// The role in the audit record.
    public var auditRole: AuditRecordPayload.OutputRole {
        switch self {
        case .warped: .warped
        case .transforms: .transforms
        case .motionCSV: .motionCSV
        case .motionPlot: .motionPlot
        }
    }
}
