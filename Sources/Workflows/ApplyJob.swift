import Foundation
import NIfTIIO
import Registration
import Sampling
import TransformIO
import VolumeCore

/// `stnreg apply`: resample a volume through a transform stnreg (or another tool) wrote.
///
/// The transform file is stnreg's JSON (`"format": "stnreg-transform"`), ITK text, ANTs `.mat`,
/// FSL `.mat` (needs both headers: the moving image and `--reference`), NiftyReg or LTA; every
/// one is turned into `atlasToScan` (RAS+ mm). Without `inverse` the moving image lives in
/// scan space and the reference is the atlas: `out(x) = moving(T·x)`. With `inverse` the moving
/// image lives in atlas space and the reference is the scan: `out(y) = moving(T⁻¹·y)`.
public struct ApplyJob: Sendable {
    public var transformPath: String
    public var movingPath: String
    public var referencePath: String
    public var outputPath: String
    public var interpolation: Interpolation
    public var inverse: Bool
    /// Forces the transform format (nil = detect from content and extension, ``TransformFormat/detect(_:file:)``).
    public var format: TransformFormat?
    public var threads: Int

    public init(transformPath: String, movingPath: String, referencePath: String, outputPath: String,
                interpolation: Interpolation = .linear, inverse: Bool = false, format: TransformFormat? = nil,
                threads: Int = ThreadPolicy.defaultThreadCount) {
        self.transformPath = transformPath
        self.movingPath = movingPath
        self.referencePath = referencePath
        self.outputPath = outputPath
        self.interpolation = interpolation
        self.inverse = inverse
        self.format = format
        self.threads = threads
    }

    /// Runs the job and returns the transform that was applied (`atlasToScan`).
    @discardableResult
    public func run() throws -> Affine {
        let inputs = [transformPath, movingPath, referencePath]
        try AtomicFile.refuseInputs(outputPath, inputs)
        let movingImage = try NIfTIReader.read(movingPath)
        let reference = try NIfTIReader.readHeader(referencePath)
        let atlasGrid = inverse ? movingImage.grid : reference.grid
        let scanGrid = inverse ? reference.grid : movingImage.grid
        let t = try TransformFile.read(path: transformPath, format: format, atlasGrid: atlasGrid, scanGrid: scanGrid)
        guard let tInverse = t.inverse else {
            throw ApplyError("\(transformPath): the transform is singular; it cannot be applied")
        }
        let pull = inverse ? tInverse : t
        var frames: [Volume] = []
        for f in 0..<movingImage.frameCount {
            frames.append(resample(movingImage.frame(f), onto: reference.grid, atlasToScan: pull,
                                   interpolation: interpolation, threads: threads))
        }
        let datatype: NIfTIDatatype = interpolation == .nearest
            ? frames.map(AlignJob.labelDatatype(for:)).max(by: { rank($0) < rank($1) }) ?? .float32
            : .float32
        if frames.count == 1 {
            try NIfTIWriter.write(frames[0], to: outputPath, datatype: datatype, description: "stnreg apply", protectedInputs: inputs, threads: threads)
        } else {
            try NIfTIWriter.write(frames: frames, to: outputPath, datatype: datatype, description: "stnreg apply", protectedInputs: inputs, threads: threads)
        }
        return t
    }
}

private func rank(_ d: NIfTIDatatype) -> Int {
    switch d {
    case .uint8: return 0
    case .int16: return 1
    default: return 2
    }
}
