/// The voxel datatypes stnreg reads and writes, with their NIfTI `DT_*` codes.
///
/// Reading converts every one of them to Float32 (after `scl_slope`/`scl_inter`).
/// Other NIfTI datatypes (64-bit integers, complex, RGB, float128) are rejected with
/// `NIfTIError.Kind.unsupportedDatatype`.
public enum NIfTIDatatype: String, Sendable, Codable, CaseIterable {
    case uint8, int8, int16, uint16, int32, uint32, float32, float64

    /// The NIfTI datatype code (`DT_UINT8` = 2, …, `DT_FLOAT64` = 64).
    public var code: Int32 {
        switch self {
        case .uint8: 2
        case .int16: 4
        case .int32: 8
        case .float32: 16
        case .float64: 64
        case .int8: 256
        case .uint16: 512
        case .uint32: 768
        }
    }

    /// Bytes per stored voxel.
    public var bytesPerVoxel: Int {
        switch self {
        case .uint8, .int8: 1
        case .int16, .uint16: 2
        case .int32, .uint32, .float32: 4
        case .float64: 8
        }
    }

    /// True for the integer types (written by rounding to nearest, range-checked).
    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// The datatype with NIfTI code `code`, or nil for codes stnreg does not handle.
    public init?(code: Int32) {
        guard let t = NIfTIDatatype.allCases.first(where: { $0.code == code }) else { return nil }
        self = t
    }

    /// Smallest and largest representable value (integers); nil for floating types.
    public var integerRange: ClosedRange<Double>? {
        switch self {
        case .uint8: 0...255
        case .int8: -128...127
        case .int16: -32768...32767
        case .uint16: 0...65535
        case .int32: -2_147_483_648...2_147_483_647
        case .uint32: 0...4_294_967_295
        case .float32, .float64: nil
        }
    }

    /// A human name for any NIfTI datatype code, for messages: "complex64 (code 32)".
    public static func describe(code: Int32) -> String {
        let names: [Int32: String] = [
            0: "unknown", 1: "binary", 2: "uint8", 4: "int16", 8: "int32", 16: "float32",
            32: "complex64", 64: "float64", 128: "rgb24", 256: "int8", 512: "uint16",
            768: "uint32", 1024: "int64", 1280: "uint64", 1536: "float128",
            1792: "complex128", 2048: "complex256", 2304: "rgba32",
        ]
        if let n = names[code] { return "\(n) (code \(code))" }
        return "unknown datatype code \(code)"
    }
}
