import VolumeCore

/// Resamples `scan` onto `target`: `warped(x) = scan(atlasToScan · x)` at every target voxel centre.
///
/// For target voxel `q = (i, j, k)` the scan is read at scan voxel coordinates
/// `p = scan.grid.worldToVoxel · atlasToScan · target.voxelToWorld · q` (see
/// ``targetVoxelToScanVoxel(target:scan:atlasToScan:)``), with the border rule of
/// ``Interpolation`` (zero outside the scan). The chain is composed once into one voxel-to-voxel
/// affine; each row's start point is computed in Double and `p` is stepped along `i` in Float,
/// so coordinates carry a relative error of about `1e-7 · |p|` voxels.
///
/// - Parameters:
///   - atlasToScan: world (RAS+ mm) map from target (atlas) points to scan points.
///   - threads: threads to use; the result is bitwise identical for every value (each output
///     voxel is computed independently; the work is split into fixed slabs of rows).
/// - Returns: a volume on `target`.
public func resample(_ scan: Volume, onto target: Grid, atlasToScan: Affine,
                     interpolation: Interpolation = .linear,
                     threads: Int = ThreadPolicy.defaultThreadCount) -> Volume {
    let map = targetVoxelToScanVoxel(target: target, scan: scan.grid, atlasToScan: atlasToScan)
    return _warp(scan, onto: target, voxelMap: map, interpolation: interpolation, threads: threads)
}

/// Resamples `scan` onto `target` world to world (identity transform): each target voxel centre
/// takes the scan's value at the same world point. Used to change grids, e.g. for downsampling
/// (blur first: ``smoothAndResample(_:onto:threads:)``).
public func resample(_ scan: Volume, onto target: Grid, interpolation: Interpolation = .linear,
                     threads: Int = ThreadPolicy.defaultThreadCount) -> Volume {
    resample(scan, onto: target, atlasToScan: .identity, interpolation: interpolation, threads: threads)
}

/// Samples `scan` at `p = voxelMap · q` for every voxel `q` of `target`; values only.
/// With `spans`, only those voxels (``RowSpans``); the others are 0.
func _warp(_ scan: Volume, onto target: Grid, voxelMap: Affine, interpolation: Interpolation,
           spans: RowSpans? = nil, threads: Int) -> Volume {
    let rm = _RowMap(voxelMap)
    let n = target.dims
    precondition(spans == nil || spans!.dims == n, "row spans of shape \(spans!.dims) for a target of \(n)")
    let rows = n.y * n.z
    let chunks = _rowChunkCount(rows: rows, rowLength: n.x)
    var out = [Float](repeating: 0, count: target.voxelCount)
    scan.voxels.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            let view = _ScanView(src.baseAddress!, dims: scan.grid.dims)
            let d = dst.baseAddress!
            parallelChunks(chunks, threads: threads) { c in
                for row in chunkRange(c, of: chunks, count: rows) {
                    let (sx, sy, sz) = rm.start(row % n.y, row / n.y)
                    let o = row * n.x
                    switch interpolation {
                    case .linear:
                        for i in spans?.range(row) ?? 0..<n.x {
                            let fi = Float(i)
                            d[o + i] = view.value(sx + fi * rm.dx, sy + fi * rm.dy, sz + fi * rm.dz)
                        }
                    case .nearest:
                        for i in spans?.range(row) ?? 0..<n.x {
                            let fi = Float(i)
                            d[o + i] = view.nearest(sx + fi * rm.dx, sy + fi * rm.dy, sz + fi * rm.dz)
                        }
                    }
                }
            }
        }
    }
    return Volume(grid: target, voxels: out)
}
