import Foundation
import Testing
import TestSupport
import VolumeCore

/// ``DistanceTransform``: the exact Euclidean distance against brute force, and hole filling.
struct DistanceTransformTests {
    /// Brute force: the smallest distance (mm) from voxel `n` to any mask voxel.
    static func bruteForce(_ mask: [Bool], grid: Grid) -> [Float] {
        let d = grid.dims, s = grid.spacingMM
        let on = mask.indices.filter { mask[$0] }
        return mask.indices.map { n in
            let p = SIMD3(Double(n % d.x), Double((n / d.x) % d.y), Double(n / (d.x * d.y)))
            var best = Double.infinity
            for m in on {
                let q = SIMD3(Double(m % d.x), Double((m / d.x) % d.y), Double(m / (d.x * d.y)))
                let e = (p - q) * s
                best = min(best, (e * e).sum())
            }
            return Float(best.squareRoot())
        }
    }

    static func randomMask(_ grid: Grid, density: Double, rng: inout SeededGenerator) -> [Bool] {
        (0..<grid.voxelCount).map { _ in rng.uniform(0, 1) < density }
    }

    /// Exact: squared distances are sums of squared multiples of the spacings, formed in Double;
    /// the only rounding is the final square root to Float (relative 6e-8), so 1e-5 mm holds on
    /// any CPU.
    @Test(arguments: [0.002, 0.02, 0.3])
    func matchesBruteForceOnAnAnisotropicGrid(density: Double) {
        var rng = SeededGenerator(seed: UInt64(density * 1000) + 7)
        let grid = Grid(dims: SIMD3(11, 9, 7), spacingMM: SIMD3(1, 1.5, 2.5))
        var mask = Self.randomMask(grid, density: density, rng: &rng)
        if !mask.contains(true) { mask[37] = true }
        let fast = DistanceTransform.euclidean(mask, grid: grid)
        let slow = Self.bruteForce(mask, grid: grid)
        let worst = zip(fast, slow).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "largest difference \(worst) mm")
        #expect(zip(fast, mask).allSatisfy { $1 ? $0 == 0 : $0 > 0 })
    }

    @Test func anEmptyMaskIsInfinitelyFar() {
        let grid = Grid(dims: SIMD3(4, 3, 2), spacingMM: SIMD3(1, 1, 1))
        #expect(DistanceTransform.euclidean([Bool](repeating: false, count: 24), grid: grid).allSatisfy { $0 == .infinity })
    }

    /// Lines are independent, so threads cannot change a bit (a grid above the one-thread limit).
    @Test func isIdenticalForOneAndTwoThreads() {
        var rng = SeededGenerator(seed: 3)
        let grid = Grid(dims: SIMD3(48, 40, 36), spacingMM: SIMD3(2, 2, 3))
        let mask = Self.randomMask(grid, density: 0.001, rng: &rng)
        #expect(DistanceTransform.euclidean(mask, grid: grid, threads: 1) == DistanceTransform.euclidean(mask, grid: grid, threads: 2))
    }

    /// A hollow box is filled; the same box with a tunnel to the border is not.
    @Test func fillsEnclosedHolesOnly() {
        let grid = Grid(dims: SIMD3(9, 9, 9), spacingMM: SIMD3(1, 1, 1))
        var wall = [Bool](repeating: false, count: grid.voxelCount)
        for k in 2...6 { for j in 2...6 { for i in 2...6 where [i, j, k].contains(2) || [i, j, k].contains(6) {
            wall[grid.index(i, j, k)] = true
        } } }
        let filled = DistanceTransform.fillingHoles(wall, grid: grid)
        #expect(filled[grid.index(4, 4, 4)] && filled[grid.index(3, 5, 3)])
        #expect(!filled[grid.index(1, 4, 4)] && !filled[grid.index(0, 0, 0)])
        #expect(filled.filter { $0 }.count == 125)
        var open = wall
        for i in 0...2 { open[grid.index(i, 4, 4)] = false }   // a tunnel from the centre to the border
        #expect(DistanceTransform.fillingHoles(open, grid: grid) == open)
    }
}
