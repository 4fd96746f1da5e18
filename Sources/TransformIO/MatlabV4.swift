import Foundation

/// The MATLAB version 4 ("Level 4") MAT-file layout, as far as ITK's `.mat` transforms use it.
///
/// A file is a sequence of variables, each:
///
///     int32 type     MOPT as a decimal number: M = byte order (0 little-endian IEEE,
///                    1 big-endian IEEE), O = 0 (vnl writes 1 for row-wise 2D data),
///                    P = precision (0 float64, 1 float32), T = 0 (numeric full matrix)
///     int32 mrows
///     int32 ncols
///     int32 imagf    0 = real
///     int32 namlen   name length including the terminating NUL
///     namlen bytes   the name, NUL-terminated
///     data           mrows × ncols values of precision P, column by column, in byte order M
///
/// The five header integers are themselves in byte order M. Only real float64/float32 data
/// is read; everything else is an error naming the variable.
enum MatlabV4 {
    enum Precision: Int, Sendable { case float64 = 0, float32 = 1
        var byteCount: Int { self == .float64 ? 8 : 4 }
    }

    struct Variable {
        var name: String
        var rows: Int
        var cols: Int
        var precision: Precision
        /// Values column by column (for the vectors used here, simply in order).
        var values: [Double]
        /// Byte offset of the variable's header in the file.
        var offset: Int
    }

    /// Little-endian real matrix `values` (`rows × cols`, column by column) named `name`.
    static func encode(name: String, rows: Int, cols: Int, values: [Double], precision: Precision) -> Data {
        precondition(values.count == rows * cols)
        var d = Data()
        func int32(_ v: Int) { withUnsafeBytes(of: Int32(v).littleEndian) { d.append(contentsOf: $0) } }
        int32(precision.rawValue * 10)   // M = 0 little-endian, O = 0, P, T = 0
        int32(rows)
        int32(cols)
        int32(0)
        let nameBytes = Array(name.utf8) + [0]
        int32(nameBytes.count)
        d.append(contentsOf: nameBytes)
        for v in values {
            switch precision {
            case .float64: withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) }
            case .float32: withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { d.append(contentsOf: $0) }
            }
        }
        return d
    }

    /// All variables in `data`, in file order.
    static func decode(_ data: Data, file: String) throws -> [Variable] {
        let bytes = [UInt8](data)
        var out: [Variable] = []
        var pos = 0
        func fail(_ place: Int, _ problem: String, _ remedy: String = "the file is damaged or not an ITK/ANTs .mat transform") -> TransformFileError {
            TransformFileError(file: file, place: "byte \(place)", problem: problem, remedy: remedy)
        }
        func uint32(_ at: Int, bigEndian: Bool) -> UInt32 {
            let b = bytes[at..<at + 4].map(UInt32.init)
            return bigEndian ? (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) : (b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0])
        }
        guard !bytes.isEmpty else {
            throw TransformFileError(file: file, problem: "the file is empty", remedy: "write the transform again")
        }
        while pos < bytes.count {
            let start = pos
            guard bytes.count - pos >= 20 else {
                throw fail(pos, "truncated header of variable \(out.count + 1) (\(bytes.count - pos) of 20 bytes)",
                           "the file is truncated; write it again")
            }
            // The byte order is whichever reading gives a type code with a matching M digit.
            let le = uint32(pos, bigEndian: false), be = uint32(pos, bigEndian: true)
            let bigEndian: Bool
            if le < 1000 { bigEndian = false } else if (1000..<2000).contains(be) { bigEndian = true } else {
                throw fail(pos, "not a MATLAB v4 variable header (type code \(Int32(bitPattern: le)))")
            }
            let type = Int(bigEndian ? be : le)
            let header = (0..<5).map { Int(Int32(bitPattern: uint32(pos + 4 * $0, bigEndian: bigEndian))) }
            let (rows, cols, imag, namlen) = (header[1], header[2], header[3], header[4])
            pos += 20
            guard type % 10 == 0 else {
                throw fail(start, "variable \(out.count + 1) is not a numeric matrix (type code \(type))")
            }
            guard let precision = Precision(rawValue: (type / 10) % 10) else {
                throw fail(start, "variable \(out.count + 1) has precision code \((type / 10) % 10); only float64 (0) and float32 (1) are read")
            }
            guard (0...1_000_000).contains(rows), (0...1_000_000).contains(cols), rows * cols <= 1_000_000 else {
                throw fail(start + 4, "variable \(out.count + 1) has implausible size \(rows) × \(cols)")
            }
            guard imag == 0 else {
                throw fail(start + 12, "variable \(out.count + 1) is complex; a transform is real")
            }
            guard (1...4096).contains(namlen) else {
                throw fail(start + 16, "variable \(out.count + 1) has implausible name length \(namlen)")
            }
            guard bytes.count - pos >= namlen else {
                throw fail(pos, "truncated name of variable \(out.count + 1)", "the file is truncated; write it again")
            }
            let nameBytes = bytes[pos..<pos + namlen]
            guard nameBytes.last == 0 else {
                throw fail(pos, "the name of variable \(out.count + 1) is not NUL-terminated")
            }
            let name = String(decoding: nameBytes.dropLast().prefix { $0 != 0 }, as: UTF8.self)
            pos += namlen
            let count = rows * cols
            let need = count * precision.byteCount
            guard bytes.count - pos >= need else {
                throw TransformFileError(file: file, place: "variable \(name)",
                                         problem: "needs \(need) bytes of data from byte \(pos), the file ends after \(bytes.count - pos)",
                                         remedy: "the file is truncated; write it again")
            }
            var values: [Double] = []
            values.reserveCapacity(count)
            for n in 0..<count {
                let at = pos + n * precision.byteCount
                switch precision {
                case .float64:
                    let hi = UInt64(uint32(at + (bigEndian ? 0 : 4), bigEndian: bigEndian))
                    let lo = UInt64(uint32(at + (bigEndian ? 4 : 0), bigEndian: bigEndian))
                    values.append(Double(bitPattern: hi << 32 | lo))
                case .float32:
                    values.append(Double(Float(bitPattern: uint32(at, bigEndian: bigEndian))))
                }
            }
            pos += need
            out.append(Variable(name: name, rows: rows, cols: cols, precision: precision, values: values, offset: start))
        }
        return out
    }
}
