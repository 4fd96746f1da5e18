/// The tool's version: the one place it is written (`stnreg --version`, the transform JSON's
/// `tool`, every audit record's `tool.version`).
public enum STNRegBuild {
    public static let version = "0.1.0"
    /// `stnreg <version>`, as the transform JSON's `tool`.
    public static var tool: String { "stnreg \(version)" }
}
