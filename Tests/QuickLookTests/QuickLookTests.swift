import Foundation
import QuickLook
import Testing
import VolumeCore

@Suite struct QuickLookTests {
    /// A 6×5×4 volume whose voxel value encodes its index: v = i + 10 j + 100 k.
    func indexVolume() -> Volume {
        var v = Volume(grid: Grid(dims: SIMD3(6, 5, 4), spacingMM: SIMD3(1, 1, 1)))
        for k in 0..<4 { for j in 0..<5 { for i in 0..<6 { v[i, j, k] = Float(i + 10 * j + 100 * k) } } }
        return v
    }

    @Test func slicesFollowTheVoxelAxesWithTheVerticalAxisUp() {
        let v = indexVolume()
        let axial = SlicePlane.axial.slice(of: v, at: 2)
        #expect(axial.width == 6 && axial.height == 5)
        #expect(axial[0, 0] == 240 && axial[5, 4] == 205)          // top-left = (i 0, j 4), bottom-right = (i 5, j 0)
        let coronal = SlicePlane.coronal.slice(of: v)               // middle j = 2
        #expect(coronal.width == 6 && coronal.height == 4 && coronal[1, 0] == 321 && coronal[1, 3] == 21)
        let sagittal = SlicePlane.sagittal.slice(of: v, at: 3)
        #expect(sagittal.width == 5 && sagittal.height == 4 && sagittal[4, 0] == 343 && sagittal[0, 3] == 3)
    }

    @Test func windowingMapsPercentilesTo0And255() {
        let im = GrayImage(width: 101, height: 1, values: (0...100).map(Float.init))
        let w = ImageOps.window(im, low: 10, high: 90)
        #expect(w[0] == 0 && w[10] == 0 && w[50] == 128 && w[90] == 255 && w[100] == 255)
        #expect(ImageOps.window(GrayImage(width: 2, height: 1, values: [3, 3])) == [0, 0])
        #expect(ImageOps.window(GrayImage(width: 3, height: 1, values: [.nan, 0, 1]), low: 0, high: 100) == [0, 0, 255])
    }

    @Test func edgesOfASquareLieOnItsBorderOnly() {
        var im = GrayImage(width: 20, height: 20, values: [Float](repeating: 0, count: 400))
        for y in 5..<15 { for x in 5..<15 { im[x, y] = 100 } }
        let e = ImageOps.edges(im)
        #expect(e[10 + 20 * 10] == false && e[0] == false)          // inside and far outside
        #expect(e[4 + 20 * 10] && e[5 + 20 * 10] && e[14 + 20 * 10] && e[15 + 20 * 10])
        let ring: Set<Int> = [4, 5, 14, 15]
        for y in 0..<20 { for x in 0..<20 where e[x + 20 * y] { #expect(ring.contains(x) || ring.contains(y), "edge at \(x), \(y)") } }
        #expect(!ImageOps.edges(GrayImage(width: 4, height: 4, values: [Float](repeating: 7, count: 16))).contains(true))
    }

    @Test func overlayPaintsEdgesAndCheckerboardAlternatesTiles() {
        let base = GrayImage(width: 4, height: 1, values: [0, 1, 2, 3])
        let o = ImageOps.overlay(base: base, edges: [false, true, false, false], colour: (1, 2, 3))
        #expect(o[1, 0] == (1, 2, 3) && o[0, 0] == (0, 0, 0) && o[3, 0] == (255, 255, 255))
        let a = GrayImage(width: 4, height: 4, values: (0..<16).map { Float($0 % 2) })        // 0/1 stripes
        let b = GrayImage(width: 4, height: 4, values: (0..<16).map { Float(1 - $0 % 2) })    // inverted
        let c = ImageOps.checkerboard(a, b, tile: 2)
        #expect(c[0, 0].0 == 0 && c[1, 0].0 == 255)      // tile (0,0) from a
        #expect(c[2, 0].0 == 255 && c[3, 0].0 == 0)      // tile (1,0) from b
        #expect(c[0, 2].0 == 255)                        // tile (0,1) from b
    }

    @Test func panelsHoldThreeSlicesEnlargedToTheMinimumHeight() {
        let grid = Grid(dims: SIMD3(20, 24, 16), spacingMM: SIMD3(2, 2, 2))
        var atlas = Volume(grid: grid)
        for k in 4..<12 { for j in 6..<18 { for i in 5..<15 { atlas[i, j, k] = 1 } } }
        let panel = QuickLookPanels.edgeOverlay(atlas: atlas, warped: atlas, minHeight: 96)
        // Slices 20×24, 20×16, 24×16 side by side with 4-px gaps, height 24, enlarged ×4.
        #expect(panel.width == (20 + 20 + 24 + 8) * 4 && panel.height == 96)
        let checker = QuickLookPanels.checkerboard(atlas: atlas, warped: atlas, minHeight: 96)
        #expect(checker.width == panel.width)
    }

    @Test func pngFilesAreWrittenByLibpng() throws {
        let folder = NSTemporaryDirectory() + "stnreg-ql-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var im = RGBImage(width: 7, height: 3, fill: (10, 20, 30))
        im[6, 2] = (255, 0, 0)
        let path = folder + "/x.png"
        try PNGWriter.write(im, to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes[0..<8]) == [137, 80, 78, 71, 13, 10, 26, 10])
        #expect(Array(bytes[12..<16]) == Array("IHDR".utf8))
        #expect(Array(bytes[16..<24]) == [0, 0, 0, 7, 0, 0, 0, 3])   // width, height (big-endian)
        #expect(bytes[24] == 8 && bytes[25] == 2)                     // 8-bit RGB
    }

    @Test func aPNGThatCannotBeWrittenThrowsWithThePath() {
        let path = "/nonexistent-folder-\(UUID().uuidString)/x.png"
        #expect { try PNGWriter.write(RGBImage(width: 1, height: 1), to: path) } throws: { e in
            String(describing: e).hasPrefix(path + ":")
        }
    }
}
