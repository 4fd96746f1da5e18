/// Named tolerances, each with the reason for its size. Use these instead of inline numbers
/// where a tolerance encodes a numerical argument (rather than a property of one test's data).
///
/// Why a value holds on **any** x86-64 CPU: stnreg is compiled for the x86-64 baseline (SSE2,
/// no FMA, no x87), so every Float32 and Double operation in our own code rounds the same way on
/// every CPU, and a result computed in one fixed order is bit-identical everywhere. What does
/// differ between CPUs is code that picks its kernels at run time: OpenBLAS (GEMM blocking and
/// FMA or not), FFTW (SSE/AVX/AVX-512 codelets), glibc's libm (FMA variants of `exp`, `log`,
/// `pow`, `sin`, `cos`, each within 1 ulp of the exact value) and the Python readers (NumPy's
/// SIMD sums). A tolerance below is therefore an error *bound* for the worst order and kernel,
/// not a measurement on one machine; where a bound depends on such a kernel, its comment says so.
/// ε₃₂ = 2⁻²³ ≈ 1.2e-7 and ε₆₄ = 2⁻⁵² ≈ 2.2e-16 are the unit roundoffs (one ulp at 1).
///
/// A tolerance is never loosened to make a test pass: a check that needs a larger value than a
/// constant here gets its own constant with its own reason.
public enum Tolerance {
    // MARK: Double arithmetic, no accumulation

    /// A handful of Double operations on values of size ≤ 1 (schedules, the identity from zero
    /// parameters): each rounds by ≤ ½ ulp = 1.1e-16, so a few operations stay below 1e-15.
    public static let float64UnitScale = 1e-15
    /// A few dozen Double operations (including libm's `sqrt`, `sin`, `cos`, `log`, `pow`,
    /// within 1 ulp on every CPU) on values of size ≤ ~100 (mm; ulp 1.4e-14): ≲ 1e-13; 1e-12
    /// leaves a margin of 10×. Used for points, grid matrices, sigmas and coverage fractions
    /// computed in closed form.
    public static let float64FewOperations = 1e-12
    /// Products, inverses and decompositions (polar / QR, `atan2`, `asin`) of random affines with
    /// entries up to ~100 mm and condition numbers up to ~10: the error is about condition ×
    /// dimension × ulp(100) ≈ 1e-11; 1e-9 leaves a margin of 100×. Absolute in mm or unitless.
    public static let float64MatrixAlgebra = 1e-9
    /// Relative difference of two Double accumulations of the same ≤ 10⁶ terms in different
    /// orders (ours against a naive loop, NumPy's pairwise SIMD sum or SimpleITK's): bounded by
    /// n·ε₆₄ ≈ 2e-10 for terms of one sign; 1e-9 leaves a margin of 5×.
    public static let float64Sum = 1e-9

    // MARK: Angles (degrees) from a decomposition

    /// Euler angles (degrees) of random affines recovered by the decomposition: radians carry
    /// ~1e-11 (``float64MatrixAlgebra``'s argument), × 57.3 to degrees, and `asin` amplifies
    /// rounding near ±90° by 1/cos; 1e-7° bounds the random cases (|angles| ≤ 30°).
    public static let float64DecompositionDegrees = 1e-7
    /// An angle (degrees) that passed once through a Float32 value or through `asin`/`acos` near
    /// ±1: one Float32 rounding of a network output (relative 6e-8, deterministic: no kernel
    /// involved) moves a 15° step by ≲ 1e-6°, and at exactly 90° (gimbal lock) an ulp inside
    /// `asin` costs √(2ε₆₄) rad ≈ 8.5e-7°. Tight: a change of arithmetic here shows at once.
    public static let angleDegrees = 1e-6

    // MARK: Transform files

    /// Largest entry difference (mm, or unitless for the linear part) between a transform and
    /// the same transform read back from a file stnreg wrote: numbers are written as the
    /// shortest decimal that reads back exactly, and the frame changes (LPS flips, ITK's centre)
    /// add at most a few ulps of entries of size ≤ 100, i.e. ~1e-14; 1e-12 leaves a margin of 100×.
    public static let transformFileRoundTrip = 1e-12
    /// As ``transformFileRoundTrip`` for formats that pass through both grids' voxel matrices
    /// (FSL's scaled-voxel frame, its x flip and their inverses): the inverses of the random
    /// test grids (condition ≤ ~20) add ~1e-12 relative; 1e-10 leaves a margin of 100×.
    /// Relative to 1 + the largest entry.
    public static let transformFileThroughGrids = 1e-10
    /// As ``transformFileThroughGrids`` for a matrix the test composes and prints itself
    /// (an LTA vox-to-vox block, 17 significant digits) or a random transform through every
    /// writer: the printed composition adds ~1e-13 relative per product; 1e-9 relative.
    public static let transformFileComposed = 1e-9

    /// Relative difference (to 1 + the largest entry) of a transform read back from a file
    /// SimpleITK wrote (ITK text with 17 significant digits, binary .mat in double): its own
    /// frame arithmetic (the centre folded into the offset) adds ~1e-14; 1e-9 relative.
    public static let otherWriterDouble = 1e-9
    /// As ``otherWriterDouble`` for ANTsPy's .mat, written as `AffineTransform_float_3_3`:
    /// Float32 entries (relative 6e-8) and the centre folded into the offset in Float32 on
    /// entries ≤ ~100 mm: ≲ 2e-7 relative; 1e-6.
    public static let otherWriterANTsFloat = 1e-6
    /// As ``otherWriterDouble`` for an FSL matrix nitransforms wrote (`%.08f`: 5e-9 absolute on
    /// scaled-voxel entries ≤ ~200 mm), read back through both grids' voxel matrices: ≲ 1e-7
    /// relative; 1e-5.
    public static let otherWriterFSLText = 1e-5

    // MARK: Float32 values

    /// A few Float32 operations on values of size ≤ ~1 (normalised intensities, memberships,
    /// means of ≤ 12 values, AdamW's few steps against a Double reference): ≤ 8 ulps of 1.
    /// Our own loops only, so bit-identical on every CPU.
    public static let float32FewOperations = 1e-6
    /// Relative error of a quantity computed once in Float32 and compared with Double (a sum of
    /// Float32-scaled voxels, a move derived from one Float32 output): 6e-8 per rounding; 1e-6.
    public static let float32Relative = 1e-6
    /// Float32 accumulations of up to ~10² terms of size ≤ ~1 (blur kernels, a 3-D convolution
    /// through OpenBLAS's GEMM, a group's mean, 20 AdamW steps): n·ε₃₂·Σ|terms| ≲ 1e-5 for the
    /// worst summation order or kernel OpenBLAS picks on any CPU. Absolute.
    public static let float32Accumulation = 1e-5
    /// A matrix entry, voxel size or ANTs parameter stored as Float32 (NIfTI-1 sform / pixdim,
    /// ANTs' `float` .mat) and read back: half an ulp of entries ≤ 128 is 3.8e-6 (absolute), or
    /// 6e-8 relative; 1e-5 (absolute, or relative to 1 + the entry) leaves a margin of ≥ 2.5×.
    public static let float32StoredEntry = 1e-5
    /// A voxel-to-world matrix read back from a NIfTI header by another reader (nibabel) or
    /// rebuilt from the header's Float32 quaternion and offsets: entries ≤ 200 mm carry half an
    /// ulp (7.6e-6) plus the quaternion's rounding (6e-8 × 200 × a few products); 1e-4.
    public static let float32HeaderMatrix = 1e-4
    /// ⟨A·x, y⟩ against ⟨x, Aᵀ·y⟩ for a Float32 warp A and its adjoint, summed in Double:
    /// relative to Σ|terms|, each product carries a few Float32 roundings (≤ 1e-6); 1e-4.
    public static let float32AdjointRelative = 1e-4
    /// A Float32 splat (the sampler's adjoint) against a Double splat: each voxel collects ≲ 64
    /// contributions of size ≤ ~1 in a thread-dependent order: n·ε₃₂ ≈ 1e-5; 1e-4 absolute.
    public static let float32Splat = 1e-4
    /// Slack on an upper bound stated in Double and checked on Float32 values of size ≤ ~1 (a
    /// bounded noise amplitude): the Float32 rounding of the bound and of the value, ≤ 2 ulps of
    /// 1 (2.4e-7); 1e-6.
    public static let float32BoundSlack = 1e-6
    /// A Float32 weighted sum of intensities of size ≤ ~110 (ulp 7.6e-6) with ≤ 3 weights: ≲ 3e-5; 1e-4.
    public static let float32IntensitySum = 1e-4
    /// A Float32 trilinear sample of a phantom (values ≤ ~200: ulp 1.5e-5; 8 weighted terms)
    /// against the Double sampler, or the same scan resampled through two transform files that
    /// agree to ``float32StoredEntry`` (a 1e-5 voxel move × a slope ≤ ~50 per voxel): ≲ 5e-4;
    /// 1e-3 absolute (relative to max(1, |g|) for gradients).
    public static let float32Interpolated = 1e-3
    /// FFTW single precision against a direct sum: an entry of a Float32 FFT (or of an FFT-based
    /// box sum or mask overlap) errs by about ε₃₂·log₂N·‖x‖₂ whichever codelets (SSE, AVX,
    /// AVX-512) FFTW picks on the CPU; for the test arrays (N ≤ ~10⁴ values of size ≤ ~2, so
    /// ‖x‖₂ ≲ 200) that is ≲ 3e-4; 1e-3 absolute.
    public static let float32FFT = 1e-3
    /// GroupNorm's output variance is var/(var + ε) with ε = 1e-5 and var ≈ 3 on the test input,
    /// i.e. 1 − 3e-6 plus Float32 rounding; 1e-3 (the check is that it normalises, not ε).
    public static let groupNormVariance = 1e-3

    // MARK: Interpolation error (no rounding argument)

    /// The 2049-entry table of x^γ on [0, 1.5] with linear interpolation: relative error
    /// h²/8 · γ|γ−1| / x² with h = 7.3e-4, at most 3.8e-4 at x = 0.01 for γ ≤ 1.4; 1e-3 relative.
    /// Deterministic (Float32 in our own code).
    public static let powerTableRelative = 1e-3

    // MARK: Finite differences

    /// Relative error of a Float32 analytic gradient against central differences of Float32
    /// forward passes (step ~1e-2 on O(1) inputs): the differences carry ~1e-7 × (terms summed)
    /// of rounding over a step of 1e-2, i.e. 1e-4…1e-3 relative on the sizes tested, plus an
    /// O(h²) truncation term; 1 % leaves a margin of 10×. Checks add the differences' own
    /// measured noise (their disagreement at h and h/2), which depends on the CPU's kernels.
    public static let float32FiniteDifference = 1e-2
    /// Gradient entries smaller than this (absolute) are compared absolutely, not relatively:
    /// their differences are dominated by rounding.
    public static let finiteDifferenceFloor = 1e-2
    /// Relative error of a Float32 analytic gradient of a whole registration loss (a sum over
    /// ~10⁴ voxels of Float32 samples) against central differences (step 1e-4) of the same
    /// Float32 loss: the loss's rounding, ~1e-7 × 10⁴ terms relative, over the step gives
    /// ~1e-3 relative; 2 % leaves a margin of 10×. No BLAS or FFT in the path.
    public static let float32LossFiniteDifference = 2e-2
    /// As ``float32LossFiniteDifference`` for the trainer's loss through two network output
    /// vectors (tanh-bounded maps, blurred loss): the Float32 loss summed over two images and
    /// its step 1e-4 in a unit-scale output; 5 % relative.
    public static let float32TrainerFiniteDifference = 5e-2
    /// As ``float32LossFiniteDifference`` for the windowed-NCC loss, whose windows are summed in
    /// Float32: the loss is noisy at ~1e-6 relative, which over a step of 1e-3 in parameter units
    /// is ~1e-3 of the largest component; compared relative to ``windowedLossRelativeFloor`` ×
    /// the largest component, 5 %.
    public static let windowedLossFiniteDifference = 5e-2
    /// The floor of ``windowedLossFiniteDifference``'s check, relative to the largest component.
    public static let windowedLossRelativeFloor = 0.1
    /// Floors (absolute) for the Float32 gradient checks above, where the loss is O(1): entries
    /// smaller than this are compared absolutely, as rounding dominates them.
    public static let float32GradientFloor = 1e-3
    /// As ``float32GradientFloor`` for a normalised similarity (NCC, LNCC) on ~10² voxels, whose
    /// per-voxel gradient entries are O(1/n).
    public static let similarityGradientFloor = 1e-4
    /// Floor relative to the largest gradient entry, for a measure whose gradient scale depends
    /// on the data (MI's Parzen histogram) checked against a Double reference: entries below
    /// 1e-6 × the largest carry the Float32 gradient's storage rounding (6e-8 relative to the
    /// largest) and are compared absolutely.
    public static let relativeFloorFloat64Reference = 1e-6
    /// Floor relative to the largest gradient entry for a Float32 sampler's matrix gradient
    /// (sums of ~10³ Float32 products: rounding ~1e-4 of the largest entry): 1e-3 × largest.
    public static let relativeFloorFloat32 = 1e-3
    /// Relative error of a Double analytic gradient against central differences of a Double
    /// function with step 1e-4…1e-6: truncation ~h² and rounding ~1e-16/h, both below 1e-6.
    public static let float64FiniteDifference = 1e-6
    /// Floor (absolute) for ``float64FiniteDifference`` checks on O(1) functions.
    public static let float64GradientFloor = 1e-6
    /// Central differences of a function that is linear (a matrix pulled back through fixed
    /// factors) or linear within a trilinear cell, in Double: no truncation term at all, only
    /// rounding ε₆₄·|f|/h ≈ 2e-16 × 200 / 1e-3 ≈ 4e-11 relative to gradients ≥ ~1: 1e-8.
    public static let float64FiniteDifferenceOfLinear = 1e-8
    /// As ``float64FiniteDifferenceOfLinear`` for a linear function of 12 matrix entries whose
    /// sum has ~10² terms of size ≤ ~10 (the rounding over h = 1e-3 reaches ~1e-9): 1e-7.
    public static let float64FiniteDifferenceOfLinearSum = 1e-7
}
