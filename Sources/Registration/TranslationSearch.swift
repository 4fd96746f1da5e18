import Sampling
import VolumeCore

/// Exhaustive integer-shift translation search by masked FFT cross-correlation (DESIGN.md step 3).
enum TranslationSearch {
    struct Outcome {
        var atlasToScan: Affine
        var score: Double
    }

    /// The best translation update of `start` on `level` (nil when the search finds no usable overlap).
    static func best(level: WorkingLevel, start: Affine, threads: Int) -> Outcome? {
        // Wired to the FFT module's masked NCC when it lands.
        nil
    }
}
