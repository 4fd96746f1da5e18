/// An audit log could not be read or written. The message names the file, the line (when
/// there is one) and the problem.
public struct AuditLogError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    /// 1-based line number, when the problem has one.
    public var line: Int?
    public var problem: String

    public init(path: String, line: Int? = nil, problem: String) {
        self.path = path
        self.line = line
        self.problem = problem
    }

    public var description: String {
        if let line { return "\(path):\(line): \(problem)" }
        return "\(path): \(problem)"
    }
}
