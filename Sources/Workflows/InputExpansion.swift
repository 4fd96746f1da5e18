import Foundation

/// Turns the user's input specifications into a sorted list of NIfTI paths.
///
/// Each specification is a NIfTI file (`.nii`, `.nii.gz`), a folder (every NIfTI file directly
/// in it), a list file (one path per line; `#` comments and blank lines skipped; relative paths
/// are relative to the list's folder) or a glob pattern (`data/sub-*/anat/*_T1w.nii.gz`).
public enum InputExpansion {
    public struct InputError: Error, CustomStringConvertible, Equatable {
        public var spec: String
        public var problem: String
        public var description: String { "\(spec): \(problem)" }
    }

    public static func isNIfTI(_ path: String) -> Bool { path.hasSuffix(".nii") || path.hasSuffix(".nii.gz") }

    /// Every path named by `specs`, in order of the specs, each spec's files sorted, duplicates removed.
    public static func expand(_ specs: [String]) throws -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        for spec in specs {
            for p in try expand(spec) where seen.insert(URL(fileURLWithPath: p).standardizedFileURL.path).inserted {
                out.append(p)
            }
        }
        return out
    }

    static func expand(_ spec: String) throws -> [String] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: spec, isDirectory: &isDir) {
            if isDir.boolValue {
                let names = (try? fm.contentsOfDirectory(atPath: spec)) ?? []
                let files = names.filter(isNIfTI).sorted().map { (spec as NSString).appendingPathComponent($0) }
                guard !files.isEmpty else { throw InputError(spec: spec, problem: "the folder holds no .nii or .nii.gz files") }
                return files
            }
            if isNIfTI(spec) { return [spec] }
            guard let text = try? String(contentsOfFile: spec, encoding: .utf8) else {
                throw InputError(spec: spec, problem: "not a NIfTI file and not a readable list of paths")
            }
            let base = URL(fileURLWithPath: spec).deletingLastPathComponent()
            var files: [String] = []
            for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let path = line.hasPrefix("/") ? line : base.appendingPathComponent(line).path
                guard isNIfTI(path) else { throw InputError(spec: spec, problem: "line \(n + 1): '\(line)' is not a .nii or .nii.gz path") }
                guard fm.fileExists(atPath: path) else { throw InputError(spec: spec, problem: "line \(n + 1): no such file \(path)") }
                files.append(path)
            }
            guard !files.isEmpty else { throw InputError(spec: spec, problem: "the list names no files") }
            return files
        }
        // A glob pattern.
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(spec, 0, nil, &g) == 0 else {
            throw InputError(spec: spec, problem: "no such file, folder or matching files")
        }
        var files: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let c = g.gl_pathv[i], let s = String(validatingCString: c), isNIfTI(s) { files.append(s) }
        }
        guard !files.isEmpty else { throw InputError(spec: spec, problem: "the pattern matches no .nii or .nii.gz files") }
        return files.sorted()
    }
}
