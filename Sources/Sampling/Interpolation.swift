import VolumeCore

/// How a scan is sampled between voxel centres.
///
/// Both modes read the scan at **scan voxel coordinates** `p` (continuous; voxel centres at
/// integers, axis order i, j, k) and treat the scan as **zero outside its voxels**:
///
/// - ``linear``: trilinear interpolation with **zero padding**. The value at `p` is
///   `Σ w_c · scan[c]` over the 8 corners `c` of the cell `[⌊p⌋, ⌊p⌋+1]` (per axis),
///   `w_c = Π_a (1 − |p_a − c_a|)`, where a corner outside `0…n_a−1` contributes 0.
///   So the interpolant is continuous everywhere, equals ordinary trilinear interpolation on
///   `[0, n−1]`, fades linearly to 0 over the last voxel outside it, and is exactly 0 when
///   `p_a ≤ −1` or `p_a ≥ n_a` on some axis. This is the rule of PyTorch's `grid_sample`
///   with `align_corners = true, padding_mode = "zeros"`. It is the rule every kernel of this
///   module uses (resampling, gradients, adjoint), so values and derivatives agree.
/// - ``nearest``: the value of voxel `r = ⌊p + ½⌋` (per axis; **ties round up**, towards the
///   higher index), or 0 when `r` is outside `0…n−1`, i.e. when `p_a < −½` or `p_a ≥ n_a − ½`.
///   Only existing voxel values (or 0) are produced, so it is the mode for label maps.
///   Does not hold: a coordinate computed to be exactly on a tie may land either side after
///   rounding of the transform.
///
/// Does not hold for either mode: NaN or infinite voxels propagate (a non-finite corner makes the
/// trilinear sample non-finite even where its weight is 0); clean or mask such voxels first.
public enum Interpolation: String, Sendable, Codable, CaseIterable {
    case linear
    case nearest
}
