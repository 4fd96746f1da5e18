import Foundation
import Registration
import TransformIO
import VolumeCore

/// Seeded mutations of small text or binary files (protocol JSON, transform files): span
/// deletions and duplications, interesting tokens and numbers, truncation, bit flips, line
/// swaps. Input `n` depends only on `(seed, n)`.
public struct TextMutator: Sendable {
    public var seeds: [(name: String, bytes: [UInt8])]

    public init(seeds: [(name: String, bytes: [UInt8])]) {
        precondition(!seeds.isEmpty)
        self.seeds = seeds
    }

    static let tokens: [String] = [
        "NaN", "nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e-320", "0", "-0", "99999999999999999999999",
        "0x10", "1.5.3", "-", "+", ".", "e", "{", "}", "[", "]", "\"", ":", ",", "null", "true", "false", "\u{0}",
        "\u{FEFF}", "\u{00e9}", "\\u0000", "\\", "\n", "\r", "\t", "#", "//", "[[[[[[[[", "]]]]", "{\"\":{}}", "1 2 3 4",
        "0 0 0 1", "1 4 4", "type = 1", "Parameters:", "FixedParameters:", "Transform: AffineTransform_double_3_3",
        "#Insight Transform File V1.0", "\"levels\"", "\"format\"", "\"version\"", "2", "-1", "1e3", "4294967296",
    ]

    /// Input `index` of the run with `seed`: the seed's name and the mutated bytes.
    public func input(seed: UInt64, index: Int) -> (name: String, bytes: [UInt8], recipe: [String]) {
        var rng = SeededGenerator(seed: NIfTIMutator.mix(seed ^ 0x7e57, UInt64(index)))
        _ = rng.next()
        let s = seeds[Int(rng.next() % UInt64(seeds.count))]
        var b = s.bytes
        var recipe = [s.name]
        let n = 1 + Int(rng.next() % 3)
        for _ in 0..<n { recipe.append(mutate(&b, &rng)) }
        return (s.name, b, recipe)
    }

    func mutate(_ b: inout [UInt8], _ rng: inout SeededGenerator) -> String {
        func at(_ limit: Int) -> Int { limit <= 0 ? 0 : Int(rng.next() % UInt64(limit)) }
        switch rng.next() % 10 {
        case 0:
            let p = at(b.count), n = min(b.count - p, 1 + at(16))
            b.removeSubrange(p..<(p + n))
            return "delete \(n) at \(p)"
        case 1:
            let p = at(b.count), n = min(b.count - p, 1 + at(64))
            b.insert(contentsOf: b[p..<(p + n)], at: p)
            return "duplicate \(n) at \(p)"
        case 2, 3:
            let t = TextMutator.tokens[at(TextMutator.tokens.count)]
            let p = at(b.count + 1)
            b.insert(contentsOf: Array(t.utf8), at: p)
            return "insert \(t.debugDescription) at \(p)"
        case 4, 5:
            // Replace a number with an interesting one.
            let starts = b.indices.filter { (b[$0] >= 0x30 && b[$0] <= 0x39) && ($0 == 0 || !(b[$0 - 1] >= 0x30 && b[$0 - 1] <= 0x39)) }
            guard let p = starts.isEmpty ? nil : starts[at(starts.count)] else { return "no number" }
            var e = p
            while e < b.count, (b[e] >= 0x30 && b[e] <= 0x39) || b[e] == 0x2e || b[e] == 0x65 || b[e] == 0x2d { e += 1 }
            let t = ["0", "-1", "1e309", "NaN", "1e-300", "100000", "2147483648", "-0", "0.0", "7", "1e15"][at(11)]
            b.replaceSubrange(p..<e, with: Array(t.utf8))
            return "number at \(p) = \(t)"
        case 6:
            let cut = at(b.count)
            b = Array(b.prefix(cut))
            return "truncate to \(cut)"
        case 7:
            guard !b.isEmpty else { return "empty" }
            let p = at(b.count)
            b[p] ^= UInt8(1 << (rng.next() % 8))
            return "bit flip at \(p)"
        case 8:
            guard !b.isEmpty else { return "empty" }
            let p = at(b.count)
            b[p] = [0, 0xff, 0x7f, 0x80, 0x20, 0x0a][at(6)]
            return "byte \(p) set"
        default:
            // Swap two lines.
            var lines = b.split(separator: 0x0a, omittingEmptySubsequences: false).map(Array.init)
            guard lines.count > 2 else { return "one line" }
            let i = at(lines.count), j = at(lines.count)
            lines.swapAt(i, j)
            b = Array(lines.joined(separator: [0x0a]))
            return "swap lines \(i) and \(j)"
        }
    }
}

/// `RegistrationProtocol.parse`: a ``ProtocolError`` naming the file on one line, or a protocol
/// that passes its own checks.
public struct ProtocolFuzzTarget: Sendable {
    public init() {}

    public func run(_ bytes: [UInt8], file: String) -> FuzzOutcome {
        do {
            let p = try RegistrationProtocol.parse(Data(bytes), path: file)
            guard !p.levels.isEmpty, p.levels.allSatisfy({ $0.spacingMM > 0 && $0.spacingMM.isFinite && $0.iterations >= 0 }),
                  p.learningRate.isFinite, p.initialisation.searchSpacingMM > 0 else {
                return .finding("accepted a protocol with invalid values: \(p)")
            }
            return .accepted(p.name)
        } catch let e as ProtocolError {
            return FuzzChecks.message(e.description, file: file, oneOf: ProtocolError.self,
                                      kind: e.key.isEmpty ? "file" : String(e.key.prefix(while: { $0 != "[" && $0 != "." })))
        } catch {
            return .finding("error of type \(type(of: error)) instead of ProtocolError: \(error)")
        }
    }
}

/// Transform files: `TransformFile.decode` (stnreg JSON, ITK text, ANTs .mat, FSL, NiftyReg, LTA;
/// detected or forced) in memory, and a hand-written stnreg JSON through `TransformFile.read`.
/// Rejections must be ``TransformFileError`` naming the file on one line; an accepted transform
/// must be finite and invertible.
public struct TransformFuzzTarget: Sendable {
    public var atlasGrid: Grid
    public var scanGrid: Grid

    public init() {
        atlasGrid = Grid(dims: SIMD3(9, 10, 8), spacingMM: SIMD3(2, 2, 2), origin: SIMD3(-8, -9, -7))
        scanGrid = Grid(dims: SIMD3(7, 8, 11),
                        voxelToWorld: Affine(linear: .diagonal(SIMD3(-2.5, 2, 1.5)), translation: SIMD3(9, -8, -8)))
    }

    /// Valid files of every format for a few transforms: the seeds.
    public func seeds() throws -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        let transforms = [
            Affine.identity,
            Decomposition(translation: SIMD3(3, -2, 5), rotationDegrees: SIMD3(10, -5, 20), scale: SIMD3(1.1, 0.9, 1.05),
                          shear: SIMD3(0.02, 0, -0.03)).affine,
        ]
        for (n, t) in transforms.enumerated() {
            for f in TransformFormat.allCases {
                let d = try TransformFile.encode(t, format: f, atlasGrid: atlasGrid, scanGrid: scanGrid,
                                                 atlasName: "atlas.nii.gz", scanName: "scan.nii", centreRAS: SIMD3(1, 2, 3))
                out.append(("t\(n).\(f.rawValue)", [UInt8](d)))
            }
            let rows = t.rowMajor4x4
            let json = "{\n  \"format\": \"stnreg-transform\",\n  \"version\": 1,\n  \"atlasToScan\": [\n"
                + (0..<4).map { r in "    [" + (0..<4).map { c in String(rows[4 * r + c]) }.joined(separator: ", ") + "]" }.joined(separator: ",\n")
                + "\n  ],\n  \"tool\": \"stnfuzz\"\n}\n"
            out.append(("t\(n).json", Array(json.utf8)))
        }
        return out
    }

    /// The format a seed name ends with (nil for JSON).
    static func format(ofSeed name: String) -> TransformFormat? {
        TransformFormat.allCases.first { name.hasSuffix("." + $0.rawValue) }
    }

    /// Decodes `bytes`: JSON seeds through a file at `jsonPath`; others in memory as `file`,
    /// with the format forced (`force`) or detected.
    public func run(_ bytes: [UInt8], seedName: String, file: String, jsonPath: String, force: Bool) -> FuzzOutcome {
        do {
            let t: Affine
            if let f = TransformFuzzTarget.format(ofSeed: seedName) {
                t = try TransformFile.decode(Data(bytes), format: force ? f : nil, atlasGrid: atlasGrid, scanGrid: scanGrid, file: file)
            } else {
                guard FuzzFiles.write(bytes, to: jsonPath) else { return .finding("cannot write \(jsonPath)") }
                do {
                    t = try TransformFile.read(path: jsonPath, format: force ? .stnreg : nil)
                } catch let e as TransformFileError {
                    return FuzzChecks.message(e.description, file: jsonPath, oneOf: TransformFileError.self, kind: "TransformFileError")
                }
            }
            guard t.isFinite, t.inverse != nil else { return .finding("accepted a singular or non-finite transform \(t)") }
            return .accepted("transform")
        } catch let e as TransformFileError {
            return FuzzChecks.message(e.description, file: file, oneOf: TransformFileError.self, kind: "TransformFileError")
        } catch {
            return .finding("error of type \(type(of: error)) instead of TransformFileError: \(error)")
        }
    }
}
