// swift-tools-version:6.0
import PackageDescription

/// libnifti's nifti2_io.h includes <znzlib.h> with angle brackets; only the
/// wrapper target that imports CNIfTI needs the include path.
let niftiInclude: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-I/usr/include/nifti"])]

let package = Package(
    name: "stnreg",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "stnreg", targets: ["stnreg"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Property-based tests (FuzzRegressionTests only; no dependencies, ~10 s to build).
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // System libraries: module maps only.
        .systemLibrary(name: "CNIfTI", path: "Sources/CNIfTI"),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib"),

        // SHA-256 through OpenSSL's libcrypto (light to build, unlike swift-crypto).
        .target(name: "Hashing", dependencies: ["CCrypto"]),

        // The optimiser seam (AdamW, schedules) shared by refinement and training; no dependencies.
        .target(name: "Optimization"),

        // Thread policy and the parallel helpers (chunks, map); no dependencies (AuditLog uses them too).
        .target(name: "Parallelism"),
        // Atomic output files and the one naming scheme of their temporaries (dependency-free:
        // VolumeCore re-exports it; AuditLog, which knows nothing of imaging, uses it too).
        .target(name: "AtomicFiles"),

        // The JSON value and parser, the canonical and the stable encodings; no dependencies (AuditLog uses them too).
        .target(name: "JSONCore"),

        // Core types: volume, grid, affine, decomposition (re-exports Parallelism and JSONCore).
        .target(name: "VolumeCore", dependencies: ["CMalloc", "Parallelism", "JSONCore", "AtomicFiles"]),

        // Kernels and IO.
        .target(name: "NIfTIIO", dependencies: ["VolumeCore", "CNIfTI", "CZlib"], swiftSettings: niftiInclude),
        .target(name: "Sampling", dependencies: ["VolumeCore"]),
        .target(name: "FFT", dependencies: ["VolumeCore", "CFFTW"]),
        .target(name: "Similarity", dependencies: ["VolumeCore", "FFT"]),
        .target(name: "TransformIO", dependencies: ["VolumeCore"]),
        .target(name: "Network", dependencies: ["VolumeCore", "CBLAS", "Hashing"]),

        // Audit log (knows nothing of imaging) and quick-look images for review.
        .target(name: "AuditLog", dependencies: ["Hashing", "Parallelism", "JSONCore", "AtomicFiles"]),
        .target(name: "QuickLook", dependencies: ["VolumeCore", "CPNG"]),

        // Unsupervised training of the localization network against an atlas.
        .target(name: "Training", dependencies: ["VolumeCore", "Sampling", "Similarity", "Network", "Optimization"]),

        // Registration pipeline: initialisation, search, refinement, protocols.
        .target(name: "Registration", dependencies: ["VolumeCore", "Sampling", "Similarity", "FFT", "Network", "Optimization", "TransformIO"]),

        // Whole jobs (align, apply): read, run, write every output atomically. No printing.
        .target(name: "Workflows", dependencies: ["VolumeCore", "NIfTIIO", "Sampling", "TransformIO", "Registration", "Training", "Network", "Hashing", "AuditLog", "QuickLook"]),

        // Command line.
        .target(name: "STNCommands", dependencies: [
            "VolumeCore", "NIfTIIO", "Sampling", "TransformIO", "Registration", "Hashing", "Workflows", "AuditLog", "QuickLook", "Training",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "stnreg", dependencies: ["STNCommands", "VolumeCore"]),

        // Benchmarks (release builds only; not part of `swift test`).
        .executableTarget(name: "stnbench", dependencies: ["VolumeCore", "NIfTIIO", "Sampling", "FFT", "Similarity", "Registration", "Workflows", "Network", "AuditLog", "Training", "Hashing"]),

        // Seeded mutation fuzzer for the NIfTI reader (and other parsers): seeds, mutators and
        // checked targets in FuzzSupport (shared with FuzzRegressionTests), the driver in stnfuzz.
        .target(name: "FuzzSupport", dependencies: ["VolumeCore", "NIfTIIO", "TransformIO", "Registration"]),
        .executableTarget(name: "stnfuzz", dependencies: ["FuzzSupport", "VolumeCore", "NIfTIIO", "TransformIO", "Registration"]),

        // Tests.
        .target(name: "TestSupport", dependencies: ["VolumeCore"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONCoreTests", dependencies: ["JSONCore"]),
        .testTarget(name: "VolumeCoreTests", dependencies: ["VolumeCore", "TestSupport"]),
        .testTarget(name: "NIfTIIOTests", dependencies: ["NIfTIIO", "VolumeCore", "TestSupport"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling", "VolumeCore", "TestSupport"]),
        .testTarget(name: "FFTTests", dependencies: ["FFT", "VolumeCore", "TestSupport"]),
        .testTarget(name: "SimilarityTests", dependencies: ["Similarity", "FFT", "VolumeCore", "TestSupport"]),
        .testTarget(name: "TransformIOTests", dependencies: ["TransformIO", "VolumeCore", "NIfTIIO", "Sampling", "TestSupport"]),
        .testTarget(name: "RegistrationTests", dependencies: ["Registration", "Network", "NIfTIIO", "Sampling", "Similarity", "VolumeCore", "TestSupport"]),
        .testTarget(name: "HashingTests", dependencies: ["Hashing", "TestSupport"]),
        .testTarget(name: "WorkflowsTests", dependencies: ["Workflows", "AuditLog", "Network", "Registration", "NIfTIIO", "TransformIO", "Sampling", "VolumeCore", "TestSupport"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network", "Optimization", "VolumeCore", "TestSupport"]),
        .testTarget(name: "OptimizationTests", dependencies: ["Optimization", "TestSupport"]),
        .testTarget(name: "AuditLogTests", dependencies: ["AuditLog", "Hashing", "TestSupport"]),
        .testTarget(name: "QuickLookTests", dependencies: ["QuickLook", "VolumeCore", "TestSupport"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: [
            "FuzzSupport", "NIfTIIO", "TransformIO", "Registration", "Sampling", "Workflows", "VolumeCore", "TestSupport",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "NIfTIIO", "Network", "Optimization", "Sampling", "VolumeCore", "TestSupport"]),
        .testTarget(name: "BatchTests", dependencies: ["Workflows", "Registration", "TransformIO", "NIfTIIO", "AuditLog", "Sampling", "VolumeCore", "TestSupport"]),
        .testTarget(name: "STNCommandsTests", dependencies: ["STNCommands", "NIfTIIO", "VolumeCore", "TestSupport"]),
    ]
)
