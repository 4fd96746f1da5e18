import Foundation
import NIfTIIO
import Sampling
import VolumeCore

/// Issue 2's benchmark: read + decompress, write, and trilinear resampling of a 1 mm brain,
/// with the resampler's voxel rate beside a plain memory copy of the same bytes. Issue 14:
/// the `.nii.gz` writer against the previous one (libnifti through znzlib), alternating in one
/// run, on the atlas and on a warped brain (Colin27 resampled onto the atlas grid through a
/// general affine, as `align` writes it).
func runIOBenchmark(runs: Int) throws {
    let src = sharedDataFolder() + "/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
    let tmp = NSTemporaryDirectory() + "/stnbench-\(getpid())"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }

    var volume = Volume(grid: Grid(dims: SIMD3(1, 1, 1), spacingMM: .one))
    let tRead = try medianSeconds(runs: runs) { volume = try NIfTIReader.readVolume(src) }
    let n = volume.grid.voxelCount
    print("volume: \(src.split(separator: "/").last!) \(volume.dims.x)×\(volume.dims.y)×\(volume.dims.z) = \(n) voxels; median of \(runs) runs")
    print("read + decompress (.nii.gz, uint8 → Float32)      \(ms(tRead))")

    // Trilinear resampling through a general affine onto the same grid.
    let t = Decomposition(translation: SIMD3(3.3, -2.1, 4.7), rotationDegrees: SIMD3(7, -5, 11),
                          scale: SIMD3(1.05, 0.97, 1.02), shear: SIMD3(0.02, -0.01, 0.03)).affine
    let centre = volume.grid.centreWorld
    let atlasToScan = Affine.translation(centre) * t * Affine.translation(-centre)
    let colin = try NIfTIReader.readVolume(sharedDataFolder() + "/ch2.nii.gz")
    let warped = resample(colin, onto: volume.grid, atlasToScan: atlasToScan, threads: 2)

    // Writers, alternating within each round: the previous (libnifti) and this one on 1 and 2 threads.
    func size(_ p: String) -> String {
        let b = ((try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? Int) ?? 0
        return String(format: "%6.2f MB", Double(b) / 1e6)
    }
    for (name, v) in [("atlas", volume), ("warped brain", warped)] {
        let old = tmp + "/old.nii.gz", new1 = tmp + "/new1.nii.gz", new2 = tmp + "/new2.nii.gz"
        let tw = try medianSecondsAndCPUAlternating(runs: runs, [
            { try NIfTIWriter._writeWithLibnifti(v, to: old, datatype: .float32) },
            { try NIfTIWriter.write(v, to: new1, datatype: .float32, threads: 1) },
            { try NIfTIWriter.write(v, to: new2, datatype: .float32, threads: 2) },
        ])
        let same = FileManager.default.contentsEqual(atPath: new1, andPath: new2)
        func cpu(_ k: Int) -> String { "cpu \(ms(tw[k].cpu))" }
        print("write float32 .nii.gz, \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) libnifti (before) \(ms(tw[0].wall))  \(size(old))  \(cpu(0))")
        print("                                    1 thread          \(ms(tw[1].wall))  \(size(new1))  \(cpu(1))  = before / \(String(format: "%.2f", tw[0].wall / tw[1].wall))")
        print("                                    2 threads         \(ms(tw[2].wall))  \(size(new2))  \(cpu(2))  = before / \(String(format: "%.2f", tw[0].wall / tw[2].wall))  (bytes \(same ? "identical" : "DIFFER") to 1 thread)")
    }
    let tWriteGz = try medianSeconds(runs: runs) { try NIfTIWriter.write(volume, to: tmp + "/out.nii.gz", datatype: .float32) }
    print("write float32 .nii.gz                             \(ms(tWriteGz))")
    let tWrite = try medianSeconds(runs: runs) { try NIfTIWriter.write(volume, to: tmp + "/out.nii", datatype: .float32) }
    print("write float32 .nii                                \(ms(tWrite))")
    let tReadWarped = try medianSeconds(runs: runs) { blackHole(try NIfTIReader.readVolume(tmp + "/new2.nii.gz")) }
    print("read + decompress the warped brain (.nii.gz, Float32) \(ms(tReadWarped))")

    var copyTarget = [Float](repeating: 0, count: n)
    let tCopy = medianSeconds(runs: runs) {
        copyTarget.withUnsafeMutableBufferPointer { dst in
            volume.voxels.withUnsafeBufferPointer { src in
                dst.baseAddress!.update(from: src.baseAddress!, count: n)
            }
        }
        blackHole(copyTarget)
    }
    let copyRate = Double(n) / tCopy / 1e6
    print("memory copy of the same Float32 bytes             \(ms(tCopy))  \(String(format: "%7.0f", copyRate)) Mvox/s")
    for threads in [1, 2] {
        var out = volume
        let tRes = medianSeconds(runs: runs) { out = resample(volume, onto: volume.grid, atlasToScan: atlasToScan, threads: threads) }
        blackHole(out)
        let rate = Double(n) / tRes / 1e6
        print("trilinear resample, general affine, \(threads) thread\(threads == 1 ? " " : "s")   \(ms(tRes))  \(String(format: "%7.1f", rate)) Mvox/s  = copy / \(String(format: "%.0f", copyRate / rate))")
    }
    let tNN = medianSeconds(runs: runs) { blackHole(resample(volume, onto: volume.grid, atlasToScan: atlasToScan, interpolation: .nearest, threads: 2)) }
    print("nearest-neighbour resample, 2 threads             \(ms(tNN))  \(String(format: "%7.1f", Double(n) / tNN / 1e6)) Mvox/s")
}
