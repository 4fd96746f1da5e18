import Foundation

/// Exact Euclidean distance transforms and hole filling on binary masks of a volume's grid.
public enum DistanceTransform {
    /// For every voxel, the distance in mm (along the grid's voxel axes, with its spacing) to the
    /// nearest voxel where `mask` is true; 0 on the mask, `.infinity` everywhere when the mask is
    /// empty. Exact: one pass per axis of the lower envelope of parabolas (Felzenszwalb and
    /// Huttenlocher 2012), squared distances in Double. Each line along an axis is independent,
    /// so the result is bit-identical for any `threads`.
    public static func euclidean(_ mask: [Bool], grid: Grid, threads: Int = 1) -> [Float] {
        let d = grid.dims, s = grid.spacingMM
        precondition(mask.count == grid.voxelCount, "mask and grid differ in size")
        var f = mask.map { $0 ? 0.0 : Double.infinity }
        for axis in 0..<3 {
            let n = d[axis]
            let stride = axis == 0 ? 1 : (axis == 1 ? d.x : d.x * d.y)
            // Lines along `axis`: every (i, j, k) with that coordinate 0.
            let others = grid.voxelCount / n
            var out = f
            out.withUnsafeMutableBufferPointer { o in
                let dst = UncheckedSendable(o.baseAddress!)
                f.withUnsafeBufferPointer { src in
                    let t = grid.voxelCount < 1 << 16 ? 1 : threads
                    parallelChunks(t, threads: t) { c in
                        var line = [Double](repeating: 0, count: n), result = line
                        var v = [Int](repeating: 0, count: n), z = [Double](repeating: 0, count: n + 1)
                        for l in chunkRange(c, of: t, count: others) {
                            let base = lineStart(l, axis: axis, dims: d)
                            for p in 0..<n { line[p] = src[base + p * stride] }
                            envelope(line, spacing: s[axis], v: &v, z: &z, into: &result)
                            for p in 0..<n { dst.value[base + p * stride] = result[p] }
                        }
                    }
                }
            }
            f = out
        }
        return f.map { Float($0.squareRoot()) }
    }

    /// The first voxel index of line `l` along `axis` (lines numbered over the other two axes, the
    /// lower one fastest).
    static func lineStart(_ l: Int, axis: Int, dims d: SIMD3<Int>) -> Int {
        switch axis {
        case 0: return d.x * l                                   // l = j + ny·k
        case 1: return (l % d.x) + d.x * d.y * (l / d.x)         // l = i + nx·k
        default: return l                                        // l = i + nx·j
        }
    }

    /// The 1D squared distance transform g(p) = min_q ((p − q)·h)² + f(q) of one line.
    static func envelope(_ f: [Double], spacing h: Double, v: inout [Int], z: inout [Double], into g: inout [Double]) {
        let n = f.count
        precondition(v.count >= n && z.count >= n + 1 && g.count >= n, "envelope buffers too short")
        f.withUnsafeBufferPointer { f in
            v.withUnsafeMutableBufferPointer { v in
                z.withUnsafeMutableBufferPointer { z in
                    g.withUnsafeMutableBufferPointer { g in
                        envelope(f.baseAddress!, n, spacing: h, v: v.baseAddress!, z: z.baseAddress!, into: g.baseAddress!)
                    }
                }
            }
        }
    }

    /// ``envelope(_:spacing:v:z:into:)`` on buffers of `n` (`z`: n + 1) elements, checked by it.
    private static func envelope(_ f: UnsafePointer<Double>, _ n: Int, spacing h: Double, v: UnsafeMutablePointer<Int>,
                                 z: UnsafeMutablePointer<Double>, into g: UnsafeMutablePointer<Double>) {
        // Parabolas with an infinite offset never take part; a line without any finite one stays infinite.
        var k = -1
        for q in 0..<n where f[q].isFinite {
            let xq = Double(q) * h
            while k >= 0 {
                let xv = Double(v[k]) * h
                let crossing = ((f[q] + xq * xq) - (f[v[k]] + xv * xv)) / (2 * (xq - xv))
                if crossing <= z[k] { k -= 1 } else {
                    k += 1; v[k] = q; z[k] = crossing; z[k + 1] = .infinity
                    break
                }
            }
            if k < 0 { k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity }
        }
        guard k >= 0 else { for p in 0..<n { g[p] = .infinity }; return }
        var j = 0
        for p in 0..<n {
            let x = Double(p) * h
            while z[j + 1] < x { j += 1 }
            let dx = x - Double(v[j]) * h
            g[p] = dx * dx + f[v[j]]
        }
    }

    /// `mask` with every enclosed hole filled: the voxels not in the mask that the grid's border
    /// cannot reach through 6-connected non-mask voxels become true (ventricles, a dark skull
    /// inside a head). Serial flood fill; deterministic.
    public static func fillingHoles(_ mask: [Bool], grid: Grid) -> [Bool] {
        let d = grid.dims
        precondition(mask.count == grid.voxelCount, "mask and grid differ in size")
        var outside = [Bool](repeating: false, count: mask.count)
        var stack: [Int] = []
        func visit(_ n: Int) { if !mask[n] && !outside[n] { outside[n] = true; stack.append(n) } }
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x
            where i == 0 || j == 0 || k == 0 || i == d.x - 1 || j == d.y - 1 || k == d.z - 1 {
            visit(grid.index(i, j, k))
        } } }
        while let n = stack.popLast() {
            let i = n % d.x, j = (n / d.x) % d.y, k = n / (d.x * d.y)
            if i > 0 { visit(n - 1) }
            if i < d.x - 1 { visit(n + 1) }
            if j > 0 { visit(n - d.x) }
            if j < d.y - 1 { visit(n + d.x) }
            if k > 0 { visit(n - d.x * d.y) }
            if k < d.z - 1 { visit(n + d.x * d.y) }
        }
        return outside.map { !$0 }
    }
}
