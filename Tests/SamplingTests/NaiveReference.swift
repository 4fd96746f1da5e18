import Foundation
import VolumeCore
@testable import Sampling
import TestSupport

/// Plain reference implementations, per voxel, in Double, written from the documented rules
/// (not from the kernels' code).
enum Naive {
    /// Zero-padded trilinear interpolation: Σ over the 8 corners of the cell ⌊p⌋…⌊p⌋+1 of
    /// Π (1 − |p − c|) · scan[c], corners outside the scan counting as 0.
    static func trilinear(_ v: Volume, _ p: SIMD3<Double>) -> Double {
        let n = v.dims
        let f = SIMD3(p.x.rounded(.down), p.y.rounded(.down), p.z.rounded(.down))
        var s = 0.0
        for dz in 0...1 {
            for dy in 0...1 {
                for dx in 0...1 {
                    let c = f + SIMD3(Double(dx), Double(dy), Double(dz))
                    let w = (1 - abs(p.x - c.x)) * (1 - abs(p.y - c.y)) * (1 - abs(p.z - c.z))
                    let x = Int(c.x), y = Int(c.y), z = Int(c.z)
                    if x >= 0, y >= 0, z >= 0, x < n.x, y < n.y, z < n.z {
                        s += w * Double(v[x, y, z])
                    }
                }
            }
        }
        return s
    }

    /// Nearest neighbour: voxel ⌊p + ½⌋, 0 outside.
    static func nearest(_ v: Volume, _ p: SIMD3<Double>) -> Double {
        let n = v.dims
        let x = Int((p.x + 0.5).rounded(.down)), y = Int((p.y + 0.5).rounded(.down)), z = Int((p.z + 0.5).rounded(.down))
        guard x >= 0, y >= 0, z >= 0, x < n.x, y < n.y, z < n.z else { return 0 }
        return Double(v[x, y, z])
    }

    /// Scan voxel coordinates of target voxel (i, j, k) under the voxel map.
    static func point(_ map: Affine, _ i: Int, _ j: Int, _ k: Int) -> SIMD3<Double> {
        map.apply(SIMD3(Double(i), Double(j), Double(k)))
    }

    /// The warp, in target index order.
    static func warp(_ v: Volume, dims: SIMD3<Int>, map: Affine, nearest: Bool = false) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(dims.x * dims.y * dims.z)
        for k in 0..<dims.z {
            for j in 0..<dims.y {
                for i in 0..<dims.x {
                    let p = point(map, i, j, k)
                    out.append(nearest ? Naive.nearest(v, p) : trilinear(v, p))
                }
            }
        }
        return out
    }

    /// The adjoint by splatting each target value into its 8 corners (Double).
    static func splat(_ y: Volume, scanDims n: SIMD3<Int>, map: Affine) -> [Double] {
        var out = [Double](repeating: 0, count: n.x * n.y * n.z)
        let d = y.dims
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<d.x {
                    let p = point(map, i, j, k)
                    let f = p.rounded(.down)
                    for dz in 0...1 {
                        for dy in 0...1 {
                            for dx in 0...1 {
                                let c = f + SIMD3(Double(dx), Double(dy), Double(dz))
                                let w = (1 - abs(p.x - c.x)) * (1 - abs(p.y - c.y)) * (1 - abs(p.z - c.z))
                                let x = Int(c.x), yy = Int(c.y), z = Int(c.z)
                                if x >= 0, yy >= 0, z >= 0, x < n.x, yy < n.y, z < n.z {
                                    out[x + n.x * (yy + n.y * z)] += w * Double(y[i, j, k])
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Direct 3D convolution with the truncated Gaussian product kernel, renormalised over the
    /// part of the (2R+1)³ box inside the volume.
    static func blur(_ v: Volume, sigmaVoxels s: SIMD3<Double>) -> [Double] {
        let n = v.dims
        let r = SIMD3<Int>(Int((3 * s.x).rounded(.up)), Int((3 * s.y).rounded(.up)), Int((3 * s.z).rounded(.up)))
        func g(_ t: Int, _ sig: Double) -> Double { sig > 0 ? exp(-Double(t * t) / (2 * sig * sig)) : (t == 0 ? 1 : 0) }
        var out: [Double] = []
        for k in 0..<n.z {
            for j in 0..<n.y {
                for i in 0..<n.x {
                    var acc = 0.0, wsum = 0.0
                    for c in -r.z...r.z {
                        for b in -r.y...r.y {
                            for a in -r.x...r.x {
                                let x = i + a, y = j + b, z = k + c
                                guard x >= 0, y >= 0, z >= 0, x < n.x, y < n.y, z < n.z else { continue }
                                let w = g(a, s.x) * g(b, s.y) * g(c, s.z)
                                acc += w * Double(v[x, y, z]); wsum += w
                            }
                        }
                    }
                    out.append(acc / wsum)
                }
            }
        }
        return out
    }
}

/// A grid centred on the world origin (so random rotations about the origin keep overlap).
func centredGrid(_ dims: SIMD3<Int>, spacing: SIMD3<Double>) -> Grid {
    Grid(dims: dims, spacingMM: spacing, origin: -SIMD3<Double>(dims &- 1) * spacing / 2)
}

func maxAbsDiff(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
}

func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}

/// Distance of each coordinate of `p` to the nearest integer (cell faces), minimum over axes.
func distanceToFace(_ p: SIMD3<Double>) -> Double {
    let f = p - p.rounded(.toNearestOrEven)
    return min(abs(f.x), abs(f.y), abs(f.z))
}
