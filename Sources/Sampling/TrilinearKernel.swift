/// Inner kernels of trilinear sampling with zero padding (see ``Interpolation/linear``).
///
/// Internal: a view of a scan's voxels through a raw pointer, valid only inside the
/// `withUnsafeBufferPointer` closure that created it.
struct _ScanView {
    let base: UnsafePointer<Float>
    let nx: Int, ny: Int, nz: Int
    let sy: Int, sz: Int
    /// `n − 1` per axis: the fast path needs `0 ≤ p < n − 1` (all 8 corners inside).
    let lastX: Float, lastY: Float, lastZ: Float
    /// `n` per axis: samples with `p ≤ −1` or `p ≥ n` are 0.
    let endX: Float, endY: Float, endZ: Float

    init(_ base: UnsafePointer<Float>, dims: SIMD3<Int>) {
        self.base = base
        nx = dims.x; ny = dims.y; nz = dims.z
        sy = dims.x; sz = dims.x * dims.y
        lastX = Float(dims.x - 1); lastY = Float(dims.y - 1); lastZ = Float(dims.z - 1)
        endX = Float(dims.x); endY = Float(dims.y); endZ = Float(dims.z)
    }

    @inline(__always)
    func isInterior(_ px: Float, _ py: Float, _ pz: Float) -> Bool {
        px >= 0 && py >= 0 && pz >= 0 && px < lastX && py < lastY && pz < lastZ
    }

    /// True when the sample can be non-zero: `−1 < p < n` on every axis (false for NaN).
    @inline(__always)
    func isInSupport(_ px: Float, _ py: Float, _ pz: Float) -> Bool {
        px > -1 && py > -1 && pz > -1 && px < endX && py < endY && pz < endZ
    }

    /// Voxel value, or 0 outside the scan.
    @inline(__always)
    func at(_ x: Int, _ y: Int, _ z: Int) -> Float {
        guard x >= 0, y >= 0, z >= 0, x < nx, y < ny, z < nz else { return 0 }
        return base[x + sy * y + sz * z]
    }

    /// The interpolated value at `p` (scan voxel coordinates).
    @inline(__always)
    func value(_ px: Float, _ py: Float, _ pz: Float) -> Float {
        if isInterior(px, py, pz) {
            // p ≥ 0, so truncation is floor.
            let x0 = Int(px), y0 = Int(py), z0 = Int(pz)
            let tx = px - Float(x0), ty = py - Float(y0), tz = pz - Float(z0)
            let o = x0 + sy * y0 + sz * z0
            return _lerp3(base[o], base[o + 1], base[o + sy], base[o + sy + 1],
                          base[o + sz], base[o + sz + 1], base[o + sz + sy], base[o + sz + sy + 1],
                          tx, ty, tz)
        }
        return borderValue(px, py, pz)
    }

    @inline(never)
    func borderValue(_ px: Float, _ py: Float, _ pz: Float) -> Float {
        guard isInSupport(px, py, pz) else { return 0 }
        let x0 = _floorInt(px), y0 = _floorInt(py), z0 = _floorInt(pz)
        let tx = px - Float(x0), ty = py - Float(y0), tz = pz - Float(z0)
        return _lerp3(at(x0, y0, z0), at(x0 + 1, y0, z0), at(x0, y0 + 1, z0), at(x0 + 1, y0 + 1, z0),
                      at(x0, y0, z0 + 1), at(x0 + 1, y0, z0 + 1), at(x0, y0 + 1, z0 + 1), at(x0 + 1, y0 + 1, z0 + 1),
                      tx, ty, tz)
    }

    /// The interpolated value and its derivative with respect to `p` (per scan voxel).
    /// On a cell face the derivative is the one of the cell `[⌊p⌋, ⌊p⌋+1]` (right-sided).
    @inline(__always)
    func valueAndGradient(_ px: Float, _ py: Float, _ pz: Float) -> (Float, Float, Float, Float) {
        if isInterior(px, py, pz) {
            let x0 = Int(px), y0 = Int(py), z0 = Int(pz)
            let tx = px - Float(x0), ty = py - Float(y0), tz = pz - Float(z0)
            let o = x0 + sy * y0 + sz * z0
            return _lerp3WithGradient(base[o], base[o + 1], base[o + sy], base[o + sy + 1],
                                      base[o + sz], base[o + sz + 1], base[o + sz + sy], base[o + sz + sy + 1],
                                      tx, ty, tz)
        }
        return borderValueAndGradient(px, py, pz)
    }

    @inline(never)
    func borderValueAndGradient(_ px: Float, _ py: Float, _ pz: Float) -> (Float, Float, Float, Float) {
        guard isInSupport(px, py, pz) else { return (0, 0, 0, 0) }
        let x0 = _floorInt(px), y0 = _floorInt(py), z0 = _floorInt(pz)
        let tx = px - Float(x0), ty = py - Float(y0), tz = pz - Float(z0)
        return _lerp3WithGradient(
            at(x0, y0, z0), at(x0 + 1, y0, z0), at(x0, y0 + 1, z0), at(x0 + 1, y0 + 1, z0),
            at(x0, y0, z0 + 1), at(x0 + 1, y0, z0 + 1), at(x0, y0 + 1, z0 + 1), at(x0 + 1, y0 + 1, z0 + 1),
            tx, ty, tz)
    }

    /// Nearest-neighbour value (``Interpolation/nearest``): voxel `⌊p + ½⌋`, or 0 outside.
    @inline(__always)
    func nearest(_ px: Float, _ py: Float, _ pz: Float) -> Float {
        let qx = px + 0.5, qy = py + 0.5, qz = pz + 0.5
        // 0 ≤ q < n  ⇔  ⌊q⌋ ∈ 0…n−1 (false for NaN); q ≥ 0 so truncation is floor.
        guard qx >= 0, qy >= 0, qz >= 0, qx < endX, qy < endY, qz < endZ else { return 0 }
        return base[Int(qx) + sy * Int(qy) + sz * Int(qz)]
    }
}

/// ⌊x⌋ as an Int, for finite `x` of moderate size.
@inline(__always)
func _floorInt(_ x: Float) -> Int {
    x >= 0 ? Int(x) : Int(x.rounded(.down))
}

/// Trilinear interpolation of the corners `cXYZ` (X, Y, Z ∈ {0, 1} = offset along i, j, k)
/// at fractions `(tx, ty, tz)`; lerps along i, then j, then k.
@inline(__always)
func _lerp3(_ c000: Float, _ c100: Float, _ c010: Float, _ c110: Float,
            _ c001: Float, _ c101: Float, _ c011: Float, _ c111: Float,
            _ tx: Float, _ ty: Float, _ tz: Float) -> Float {
    let c00 = c000 + tx * (c100 - c000)
    let c10 = c010 + tx * (c110 - c010)
    let c01 = c001 + tx * (c101 - c001)
    let c11 = c011 + tx * (c111 - c011)
    let c0 = c00 + ty * (c10 - c00)
    let c1 = c01 + ty * (c11 - c01)
    return c0 + tz * (c1 - c0)
}

/// As ``_lerp3`` and the analytic partial derivatives `(value, ∂/∂tx, ∂/∂ty, ∂/∂tz)`.
@inline(__always)
func _lerp3WithGradient(_ c000: Float, _ c100: Float, _ c010: Float, _ c110: Float,
                        _ c001: Float, _ c101: Float, _ c011: Float, _ c111: Float,
                        _ tx: Float, _ ty: Float, _ tz: Float) -> (Float, Float, Float, Float) {
    let dx00 = c100 - c000, dx10 = c110 - c010, dx01 = c101 - c001, dx11 = c111 - c011
    let c00 = c000 + tx * dx00
    let c10 = c010 + tx * dx10
    let c01 = c001 + tx * dx01
    let c11 = c011 + tx * dx11
    let dy0 = c10 - c00, dy1 = c11 - c01
    let c0 = c00 + ty * dy0
    let c1 = c01 + ty * dy1
    let gz = c1 - c0
    let v = c0 + tz * gz
    let e0 = dx00 + ty * (dx10 - dx00)
    let e1 = dx01 + ty * (dx11 - dx01)
    let gx = e0 + tz * (e1 - e0)
    let gy = dy0 + tz * (dy1 - dy0)
    return (v, gx, gy, gz)
}
