/// A NIfTI file could not be read or written.
///
/// `description` is ONE line: `"<path>: <problem>. <what to do>"`, ready to show a user.
public struct NIfTIError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, as a stable category (tests and callers switch on it).
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// No file at the path.
        case notFound
        /// The path is a directory.
        case isDirectory
        /// The file exists but cannot be opened or read (permissions, I/O error).
        case unreadable
        /// A file name or layout stnreg does not read (not `.nii`/`.nii.gz`, a `.hdr`/`.img`
        /// pair, a gzip file named `.nii`).
        case unsupportedFormat
        /// Not a NIfTI-1/-2 single file (wrong `sizeof_hdr` or magic).
        case notNIfTI
        /// The file ends before the header or the voxel data do.
        case truncated
        /// The gzip stream is damaged.
        case corruptCompression
        /// Zero, negative or inconsistent dimensions, or more than 4 used dimensions.
        case badDimensions
        /// The voxel data would need more memory than `NIfTIReadOptions.maxVoxelBytes`.
        case tooLarge
        /// A datatype other than the eight of ``NIfTIDatatype``.
        case unsupportedDatatype
        /// `vox_offset` is before the end of the header, fractional, or past the end of the file.
        case badVoxOffset
        /// NaN or ±Inf voxels (after scaling) and the policy is `.reject`.
        case nonFiniteVoxels
        /// The chosen voxel-to-world matrix is singular or not finite.
        case singularGeometry
        /// A frame index outside `0..<frameCount`.
        case frameOutOfRange
        /// A value cannot be stored in the requested integer datatype (out of range or NaN).
        case valueOutOfRange
        /// The output path is one of the inputs.
        case wouldOverwriteInput
        /// Writing or verifying the output failed.
        case writeFailed
    }

    /// The file concerned, as the caller gave it.
    public var path: String
    public var kind: Kind
    /// The problem, without the path (no trailing period).
    public var detail: String
    /// What the user can do about it (no trailing period).
    public var advice: String

    public init(path: String, kind: Kind, detail: String, advice: String? = nil) {
        self.path = path
        self.kind = kind
        self.detail = NIfTIError.oneLine(detail)
        self.advice = NIfTIError.oneLine(advice ?? NIfTIError.defaultAdvice(kind))
    }

    public var description: String { "\(path): \(detail). \(advice)" }

    static func defaultAdvice(_ kind: Kind) -> String {
        switch kind {
        case .notFound: "Check the path and the current folder"
        case .isDirectory: "Give the path of a .nii or .nii.gz file inside it"
        case .unreadable: "Check the file's permissions and that the disk is readable"
        case .unsupportedFormat: "Give a single-file NIfTI named .nii or .nii.gz (convert other formats, e.g. with nibabel or dcm2niix)"
        case .notNIfTI: "Give a NIfTI-1 or NIfTI-2 file; the file may be another format or damaged"
        case .truncated: "The file is incomplete (interrupted copy or download?); copy it again"
        case .corruptCompression: "The gzip data are damaged; copy the file again or check it with `gzip -t`"
        case .badDimensions: "The header's dim field is invalid; fix or regenerate the file"
        case .tooLarge: "Raise the memory limit (maxVoxelBytes) if the file is genuine, or check its header"
        case .unsupportedDatatype: "Convert the image to uint8, int8, int16, uint16, int32, uint32, float32 or float64"
        case .badVoxOffset: "The header's vox_offset is invalid; regenerate the file"
        case .nonFiniteVoxels: "Fix the image: give those voxels a finite value (0 for background)"
        case .singularGeometry: "Fix the header's sform/qform (or pixdim) so that the voxel-to-world matrix is invertible"
        case .frameOutOfRange: "Choose a frame index from 0 to the frame count minus 1"
        case .valueOutOfRange: "Write as float32, or rescale the values into the datatype's range"
        case .wouldOverwriteInput: "Choose another output name; inputs are never overwritten"
        case .writeFailed: "Check that the folder exists, is writable and the disk is not full"
        }
    }

    private static func oneLine(_ s: String) -> String {
        var t = s.split(whereSeparator: { $0.isNewline }).joined(separator: " ")
        while t.hasSuffix(".") { t.removeLast() }
        return t
    }
}
