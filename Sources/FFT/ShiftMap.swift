import VolumeCore

/// A value for every integer shift in a box `minShift ... minShift + dims − 1` (voxels).
///
/// `values[i + dims.x·(j + dims.y·k)]` is the value at shift `minShift + (i, j, k)`.
/// What a shift means is stated by the function that made the map.
public struct ShiftMap: Sendable, Equatable {
    /// The shift stored at index 0.
    public let minShift: SIMD3<Int>
    /// Number of shifts along each axis.
    public let dims: SIMD3<Int>
    public var values: [Float]

    public init(minShift: SIMD3<Int>, dims: SIMD3<Int>, values: [Float]) {
        precondition(values.count == dims.x * dims.y * dims.z, "shift map of shape \(dims) needs \(dims.x * dims.y * dims.z) values")
        self.minShift = minShift
        self.dims = dims
        self.values = values
    }

    /// The largest shift in the map.
    public var maxShift: SIMD3<Int> { minShift &+ dims &- 1 }

    /// Whether `shift` lies in the map.
    public func contains(_ shift: SIMD3<Int>) -> Bool {
        let o = shift &- minShift
        return o.x >= 0 && o.y >= 0 && o.z >= 0 && o.x < dims.x && o.y < dims.y && o.z < dims.z
    }

    /// Index of `shift` in `values`.
    public func index(of shift: SIMD3<Int>) -> Int {
        precondition(contains(shift), "shift \(shift) is outside the map \(minShift)...\(maxShift)")
        let o = shift &- minShift
        return o.x + dims.x * (o.y + dims.y * o.z)
    }

    /// The shift stored at `index`.
    public func shift(at index: Int) -> SIMD3<Int> {
        let i = index % dims.x, j = (index / dims.x) % dims.y, k = index / (dims.x * dims.y)
        return minShift &+ SIMD3(i, j, k)
    }

    /// The value at `shift`.
    public subscript(shift: SIMD3<Int>) -> Float { values[index(of: shift)] }
}
