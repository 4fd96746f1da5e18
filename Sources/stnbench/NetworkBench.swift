import Dispatch
import Foundation
import Network
import VolumeCore

/// Network benchmark: OpenBLAS SGEMM at 1 and 2 threads (and whether their bits agree), each
/// convolution of the standard localization network at 64³ (forward and backward GFLOP/s
/// beside SGEMM of the same M×N×K, measured in the same run), and the whole network's
/// forward + backward time for batch 1 and 4. Medians of `runs` runs after a warm-up;
/// build with `-c release`.
func runNetworkBenchmark(runs: Int = 7) {
    let runs = max(3, runs)
    let threads = max(2, ThreadPolicy.defaultThreadCount)
    print("Network benchmark — medians of \(runs) runs (threads: 1 and \(threads))")
    print("")

    let g512 = 2.0 * 512 * 512 * 512 / 1e9
    let s1 = BLASProbe.sgemmSeconds(m: 512, n: 512, k: 512, openBLASThreads: 1, runs: runs)
    let s2 = BLASProbe.sgemmSeconds(m: 512, n: 512, k: 512, openBLASThreads: 2, runs: runs)
    print("OpenBLAS SGEMM 512³: " + netF(g512 / s1) + " GFLOP/s on 1 thread, " + netF(g512 / s2) + " on 2")

    print("OpenBLAS bits, 1 vs 2 threads (entries that differ):")
    for (m, n, k) in [(512, 512, 512), (8, 32768, 54), (16, 4096, 216), (2000, 3000, 1500)] {
        var rng = SeededGenerator(seed: 1)
        let a = (0..<(m * k)).map { _ in Float(rng.uniform(-1, 1)) }
        let b = (0..<(k * n)).map { _ in Float(rng.uniform(-1, 1)) }
        let c1 = BLASProbe.sgemm(m: m, n: n, k: k, a: a, b: b, openBLASThreads: 1)
        let c2 = BLASProbe.sgemm(m: m, n: n, k: k, a: a, b: b, openBLASThreads: 2)
        let differ = zip(c1, c2).filter { $0.bitPattern != $1.bitPattern }.count
        print("  \(m)×\(n)×\(k): \(differ) of \(c1.count)")
    }
    print("")

    let arch = NetworkArchitecture.standard
    print("Convolutions of the standard network at \(arch.gridSize)³, batch 1 — GFLOP/s")
    print(netPad("layer", 26) + netPad("M×N×K", 18) + netPad("fwd 1t", 9) + netPad("fwd \(threads)t", 9)
          + netPad("bwd 1t", 9) + netPad("bwd \(threads)t", 9) + netPad("sgemm 1t", 10) + netPad("sgemm 2t", 10))
    var size = arch.gridSize, channels = arch.inputChannels
    var rng = SeededGenerator(seed: 2)
    for (b, out) in arch.blockChannels.enumerated() {
        for j in 0..<arch.convolutionsPerBlock {
            let stride = j == 0 ? 2 : 1
            let conv = Conv3D(inChannels: channels, outChannels: out, stride: stride, leakySlope: arch.leakySlope, using: &rng)
            let shape = TensorShape5(batch: 1, channels: channels, depth: size, height: size, width: size)
            let x = Tensor5(shape: shape, values: (0..<shape.count).map { _ in Float(rng.uniform(-1, 1)) })
            let oShape = conv.outputShape(for: shape)
            let dy = Tensor5(shape: oShape, values: (0..<oShape.count).map { _ in Float(rng.uniform(-1, 1)) })
            let flops = conv.forwardFLOPs(for: shape) / 1e9
            let needInput = b > 0 || j > 0
            let bwdFlops = flops * (needInput ? 2 : 1)
            var row = netPad("b\(b).conv\(j) \(channels)→\(out) \(size)³ s\(stride)", 26)
            row += netPad("\(out)×\(oShape.spatialCount)×\(channels * 27)", 18)
            for t in [1, threads] {
                row += netPad(netF(flops / medianSeconds(runs: runs) { _ = conv.forward(x, threads: t) }), 9)
            }
            for t in [1, threads] {
                row += netPad(netF(bwdFlops / medianSeconds(runs: runs) {
                    _ = conv.backward(input: x, outputGradient: dy, inputGradient: needInput, threads: t)
                }), 9)
            }
            for t in [1, 2] {
                row += netPad(netF(flops / BLASProbe.sgemmSeconds(m: out, n: oShape.spatialCount, k: channels * 27,
                                                                  openBLASThreads: t, runs: runs)), 10)
            }
            print(row)
            size = conv.outputSize(size)
            channels = out
        }
    }
    print("")

    print("Localization network forward + backward at \(arch.gridSize)³ (parameter gradients only)")
    let variants: [(String, NetworkArchitecture)] = [
        ("standard (2 convs/block)", arch),
        ("dense head shipped until 2026-12-07 (1 conv/block, 2³ cells pooled)", NetworkArchitecture(convolutionsPerBlock: 1, pooledSize: 2)),
        ("shipped centroid head (3 blocks of 2 convs, 64 maps on 8³; atlas and scan each through the tower)",
         NetworkArchitecture(blockChannels: [8, 16, 32], convolutionsPerBlock: 2, centroids: 64)),
    ]
    for (name, a) in variants {
        var net = try! LocalizationNetwork(architecture: a, seed: 3)
        var p = net.parameterValues
        p[p.count - 2] = p[p.count - 2].map { _ in Float(rng.uniform(-0.1, 0.1)) }
        net.parameterValues = p
        print("  \(name): \(net.parameterCount) parameters")
        for batch in [1, 4] {
            let shape = net.inputShape(batch: batch)
            let x = Tensor5(shape: shape, values: (0..<shape.count).map { _ in Float(rng.uniform(0, 1)) })
            let dy = Tensor5(shape: .vector(batch: batch, channels: a.outputs), values: [Float](repeating: 0.1, count: batch * a.outputs))
            var cells: [String] = []
            for t in [1, threads] {
                let fwd = medianSeconds(runs: runs) { _ = net.forward(x, threads: t) }
                let both = medianSeconds(runs: runs) {
                    let (_, tape) = net.forwardRecording(x, threads: t)
                    _ = net.backward(tape, outputGradient: dy, threads: t)
                }
                cells.append("\(t)t: fwd " + netMS(fwd) + ", fwd+bwd " + netMS(both))
            }
            print("    batch \(batch): " + cells.joined(separator: " | "))
        }
    }
}

private func netF(_ x: Double) -> String { String(format: "%.1f", x) }
private func netMS(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }
private func netPad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
