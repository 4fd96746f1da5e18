/// The errors of the jobs: one type per job, each a message that names the file and the
/// problem (and how to go on). Errors of the layers below (NIfTIError, TransformFileError, …)
/// pass through unchanged. A batch throws ``BatchJob/BatchError`` (beside BatchJob, which
/// tests and callers name as such).

/// `stnreg align` (and a registration stage of a series frame) cannot go on.
public struct AlignError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `stnreg apply` cannot go on.
public struct ApplyError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `stnreg train` cannot go on.
public struct TrainError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A 4D series (``SeriesJob``) cannot be registered.
public struct SeriesError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The audit record of a run could not be appended (the run's own error, if any, is in the text).
public struct AuditAppendError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
