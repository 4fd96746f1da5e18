import VolumeCore

/// Errors while making review images.
public struct QuickLookError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String
    public init(path: String, problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(path): \(problem)" }
}

/// Review images of one registration: the atlas with the warped scan's edges, and a checkerboard.
///
/// Both volumes must be on the same grid (the warped scan is written on the atlas grid).
/// Each panel shows the three middle orthogonal slices (``SlicePlane``) side by side, enlarged
/// by an integer factor so that it is at least `minHeight` pixels high.
public enum QuickLookPanels {
    /// Axial, coronal, sagittal: the atlas in grey with the warped scan's edges in colour.
    public static func edgeOverlay(atlas: Volume, warped: Volume, minHeight: Int = 180) -> RGBImage {
        precondition(atlas.dims == warped.dims, "atlas and warped volumes differ in size")
        let panels = SlicePlane.allCases.map { plane -> RGBImage in
            let base = plane.slice(of: atlas)
            return ImageOps.overlay(base: base, edges: ImageOps.edges(plane.slice(of: warped)))
        }
        return enlarge(RGBImage.row(panels), minHeight: minHeight)
    }

    /// Axial, coronal, sagittal: a checkerboard of atlas and warped scan.
    public static func checkerboard(atlas: Volume, warped: Volume, tile: Int = 8, minHeight: Int = 180) -> RGBImage {
        precondition(atlas.dims == warped.dims, "atlas and warped volumes differ in size")
        let panels = SlicePlane.allCases.map { plane in
            ImageOps.checkerboard(plane.slice(of: atlas), plane.slice(of: warped), tile: tile)
        }
        return enlarge(RGBImage.row(panels), minHeight: minHeight)
    }

    static func enlarge(_ im: RGBImage, minHeight: Int) -> RGBImage {
        let f = max(1, (minHeight + im.height - 1) / im.height)
        return im.upscaled(by: min(f, 8))
    }
}
