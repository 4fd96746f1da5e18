import Foundation
import TestSupport

/// The repository folder (for Protocols/, TestVolumes/ and Tests/Fixtures/).
let repositoryFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// Tests/Fixtures/fuzz-corpus: every file's name starts with what reading it must give —
/// `ok-` (read cleanly) or a `NIfTIError.Kind` (e.g. `truncated-…`). Inputs that once
/// crashed or misbehaved are kept here as `<kind>-regression-<what>.nii[.gz]`.
let fuzzCorpusFolder = repositoryFolder + "/Tests/Fixtures/fuzz-corpus"

func corpusFiles() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: fuzzCorpusFolder)) ?? [])
        .filter { $0.hasSuffix(".nii") || $0.hasSuffix(".nii.gz") }
        .sorted()
}
