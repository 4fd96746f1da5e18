import Foundation
import FuzzSupport
import NIfTIIO
import Registration
import VolumeCore

struct Options {
    var command = ""
    var seed: UInt64 = 1
    var start = 0
    var count = 10_000
    var seconds: Double? = nil
    var corpus: [String] = []
    var saveFailures: String? = nil
    var writeCorpus: String? = nil
    var maxVoxelBytes = 64 << 20
    var budget = 1.0
    var hang = 30.0
    var testVolumes = true
    var files: [String] = []
}

func usage(_ why: String) -> Never {
    FileHandle.standardError.write(Data("stnfuzz: \(why)\nusage: stnfuzz nifti|protocol|transform --seed S --count N [--seconds T] [--corpus DIR] [--save-failures DIR] [--write-corpus DIR] [--max-voxel-bytes B] [--budget SEC] [--hang SEC] [--start N] [--no-testvolumes]\n       stnfuzz replay FILE...\n".utf8))
    exit(2)
}

func number<T: LosslessStringConvertible>(_ text: String, _ why: String) -> T {
    guard let v = T(text) else { usage(why) }
    return v
}

func parse(_ args: [String]) -> Options {
    var o = Options()
    guard let cmd = args.first else { usage("no subcommand") }
    o.command = cmd
    var i = 1
    func value() -> String {
        i += 1
        guard i < args.count else { usage("\(args[i - 1]) needs a value") }
        return args[i]
    }
    while i < args.count {
        let a = args[i]
        switch a {
        case "--seed": o.seed = number(value(), "--seed takes an unsigned integer")
        case "--start": o.start = number(value(), "--start takes an integer")
        case "--count": o.count = number(value(), "--count takes an integer")
        case "--seconds": o.seconds = number(value(), "--seconds takes a number")
        case "--corpus": o.corpus.append(value())
        case "--save-failures": o.saveFailures = value()
        case "--write-corpus": o.writeCorpus = value()
        case "--max-voxel-bytes": o.maxVoxelBytes = number(value(), "--max-voxel-bytes takes an integer")
        case "--budget": o.budget = number(value(), "--budget takes a number")
        case "--hang": o.hang = number(value(), "--hang takes a number")
        case "--no-testvolumes": o.testVolumes = false
        default:
            if a.hasPrefix("--") { usage("unknown option \(a)") }
            o.files.append(a)
        }
        i += 1
    }
    return o
}
