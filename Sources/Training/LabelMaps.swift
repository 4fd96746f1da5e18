import Foundation
import Sampling
import VolumeCore

/// One subject anatomy the synthetic generator draws from: soft tissue memberships (brain and
/// non-brain head tissue) and a parcel label map, on one grid (the MNI152 TestVolumes grid).
///
/// Parcels split grey and white matter into regions that get their own random intensity offset
/// (``SyntheticSubjectGenerator``): 0 = none, 1–48 Harvard-Oxford cortical, 49–165 AAL
/// (49 + AAL index), 170–225 JHU white matter (170 + JHU index). Voxel order as ``Volume``.
public struct SyntheticAnatomy: Sendable {
    public let name: String
    public let memberships: TissueMemberships
    public let parcels: [UInt8]
    /// Centre of mass (world mm) of the brain classes (CSF + GM + WM).
    public let brainCentreMM: SIMD3<Double>
    /// The memberships interleaved and quantised for the sampler's cache: `interleaved[v · stride + t]`
    /// = round(255 · class t at voxel v) (the last two of each 8 are 0).
    let interleaved: [UInt8]
    static let stride = 8
    public var grid: Grid { memberships.grid }

    /// Parcel offsets of the three label atlases.
    public static let parcelOffsets: (harvardOxford: Int, aal: Int, jhu: Int) = (0, 48, 170)
    /// Parcel ids are below this.
    public static let parcelCount = 256

    public init(name: String, memberships: TissueMemberships, parcels: [UInt8]) {
        precondition(parcels.count == memberships.grid.voxelCount, "parcel map and memberships must share one grid")
        self.name = name
        self.memberships = memberships
        self.parcels = parcels
        var sum = SIMD3<Double>.zero, weight = 0.0
        let g = memberships.grid
        let c = memberships[.csf], gm = memberships[.greyMatter], wm = memberships[.whiteMatter]
        for k in 0..<g.dims.z { for j in 0..<g.dims.y { for i in 0..<g.dims.x {
            let n = g.index(i, j, k)
            let w = Double(c[n] + gm[n] + wm[n])
            guard w > 0 else { continue }
            sum += w * SIMD3(Double(i), Double(j), Double(k)); weight += w
        } } }
        brainCentreMM = weight > 0 ? g.voxelToWorld.apply(sum / weight) : g.centreWorld
        let classes = TissueMemberships.Tissue.allCases.count
        var flat = [UInt8](repeating: 0, count: g.voxelCount * Self.stride)
        for t in 0..<classes {
            let f = memberships.fractions[t]
            for v in 0..<g.voxelCount { flat[v * Self.stride + t] = UInt8(min(255, max(0, (f[v] * 255).rounded()))) }
        }
        interleaved = flat
    }
}

/// The TestVolumes images the anatomies are made from (TestVolumes/README.md; all but the Colin27
/// pair on the MNI152 2 mm grid). Label atlases are optional: without them there are no parcels.
public struct SyntheticAnatomySources: Sendable {
    public var mniT1, mniGreyMatter, mniWhiteMatter, mniBrainMask: Volume
    public var colinT1, colinBrain: Volume
    public var harvardOxford, aal, jhu: Volume?

    public init(mniT1: Volume, mniGreyMatter: Volume, mniWhiteMatter: Volume, mniBrainMask: Volume,
                colinT1: Volume, colinBrain: Volume, harvardOxford: Volume? = nil, aal: Volume? = nil, jhu: Volume? = nil) {
        self.mniT1 = mniT1; self.mniGreyMatter = mniGreyMatter; self.mniWhiteMatter = mniWhiteMatter
        self.mniBrainMask = mniBrainMask; self.colinT1 = colinT1; self.colinBrain = colinBrain
        self.harvardOxford = harvardOxford; self.aal = aal; self.jhu = jhu
    }

    /// The TestVolumes file stems, in the order of the initialiser (the last three optional).
    public static let fileStems = ["mni152_t1_2mm", "mni152_gm_2mm", "mni152_wm_2mm", "mni152_brainmask_2mm",
                                   "colin27_t1_2mm", "colin27_brain_2mm",
                                   "harvardoxford_cort_2mm", "aal_2mm", "jhu_wm_2mm"]
}

extension SyntheticAnatomy {
    /// The two anatomies of the generator, both on the MNI152 grid:
    /// 1. **MNI152 + Colin27 head**: brain classes from the MNI152 probability maps
    ///    (``TissueMemberships/fromProbabilityMaps(greyMatter:whiteMatter:brainMask:t1:)``); in
    ///    the remainder `r = 1 − (CSF + GM + WM)` of each voxel, Colin27's non-brain bands
    ///    (fat, soft tissue, bone, from ``TissueMemberships/fromT1(_:brain:)`` with skull) × r,
    ///    and Colin27's brain classes × r as CSF (the space between the MNI152 brain and
    ///    Colin27's skull is extra-cerebral CSF).
    /// 2. **Colin27**: ``TissueMemberships/fromT1(_:brain:)`` with skull, resampled trilinearly.
    /// The parcel map (shared) is JHU where it has a tract, else Harvard-Oxford, else AAL, each
    /// resampled by nearest neighbour if not on the grid already.
    public static func make(_ s: SyntheticAnatomySources) -> [SyntheticAnatomy] {
        let grid = s.mniT1.grid
        let mni = TissueMemberships.fromProbabilityMaps(greyMatter: s.mniGreyMatter, whiteMatter: s.mniWhiteMatter,
                                                        brainMask: s.mniBrainMask, t1: s.mniT1)
        let colinNative = TissueMemberships.fromT1(s.colinT1, brain: s.colinBrain)
        var colin = TissueMemberships(grid: grid)
        for t in TissueMemberships.Tissue.allCases {
            colin[t] = resample(colinNative.volume(t), onto: grid, threads: 1).voxels
        }
        var head = mni
        let n = grid.voxelCount
        var csf = mni[.csf], fat = [Float](repeating: 0, count: n), soft = fat, bone = fat
        let gm = mni[.greyMatter], wm = mni[.whiteMatter]
        let cc = colin[.csf], cg = colin[.greyMatter], cw = colin[.whiteMatter]
        let cf = colin[.fat], cs = colin[.softTissue], cb = colin[.bone]
        for v in 0..<n {
            let r = max(0, 1 - csf[v] - gm[v] - wm[v])
            csf[v] += r * (cc[v] + cg[v] + cw[v])
            fat[v] = r * cf[v]; soft[v] = r * cs[v]; bone[v] = r * cb[v]
        }
        head[.csf] = csf; head[.fat] = fat; head[.softTissue] = soft; head[.bone] = bone
        let parcels = parcelMap(grid: grid, s)
        return [SyntheticAnatomy(name: "mni152+colin27-head", memberships: head, parcels: parcels),
                SyntheticAnatomy(name: "colin27", memberships: colin, parcels: parcels)]
    }

    /// JHU (170 + label) where positive, else Harvard-Oxford (label), else AAL (48 + label);
    /// labels beyond a range's room are dropped.
    static func parcelMap(grid: Grid, _ s: SyntheticAnatomySources) -> [UInt8] {
        func onGrid(_ v: Volume?) -> [Float]? {
            guard let v else { return nil }
            return v.grid == grid ? v.voxels : resample(v, onto: grid, interpolation: .nearest, threads: 1).voxels
        }
        let o = parcelOffsets
        let sources: [([Float]?, Int, Int)] = [(onGrid(s.jhu), o.jhu, 255 - o.jhu), (onGrid(s.harvardOxford), o.harvardOxford, o.aal - o.harvardOxford),
                                             (onGrid(s.aal), o.aal, o.jhu - o.aal - 1)]
        var out = [UInt8](repeating: 0, count: grid.voxelCount)
        for v in 0..<out.count {
            for (labels, offset, room) in sources {
                guard let labels else { continue }
                let l = Int(labels[v].rounded())
                if l > 0 && l <= room { out[v] = UInt8(offset + l); break }
            }
        }
        return out
    }
}
