/// A transform file that cannot be read or written, with a one-line message.
///
/// The description names the file, the place in it (a line number, a byte offset or a
/// variable name), what is wrong, and what to do about it, e.g.
///
///     x.mat: line 3: expected 4 numbers, found 3; an FSL/NiftyReg matrix has 4 rows of 4 numbers
public struct TransformFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file as the caller named it (a path, or a label for in-memory data).
    public var file: String
    /// Where in the file: "line 3", "byte 20", "variable fixed"; nil for the file as a whole.
    public var place: String?
    /// What is wrong, in a few words.
    public var problem: String
    /// What to do about it; nil when there is nothing useful to say.
    public var remedy: String?

    public init(file: String, place: String? = nil, problem: String, remedy: String? = nil) {
        self.file = file
        self.place = place
        self.problem = problem
        self.remedy = remedy
    }

    public var description: String {
        var s = file + ": "
        if let place { s += place + ": " }
        s += problem
        if let remedy { s += "; " + remedy }
        // Keep it on one line whatever the parts contain (file names, quoted tokens).
        return s.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
