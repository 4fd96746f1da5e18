/// The keys of a protocol file, one table per section (a table of data: each key once, with its
/// type, range and whether it may be left out; defaults are the ones the section types declare).
/// Protocols/README.md describes every key.
extension RegistrationProtocol {
    static let keys: [ProtocolKey<RegistrationProtocol>] = [
        .custom("format") { r, o, p in
            p.format = try r.string(o, "format")
            guard p.format == formatName else { throw r.fail("format", "expected '\(formatName)', found '\(p.format)'") }
        },
        .custom("version") { r, o, p in
            p.version = try r.integer(o, "version", in: 1...1_000_000)
            guard p.version == currentVersion else {
                throw r.fail("version", "this stnreg reads protocol version \(currentVersion), the file is version \(p.version); upgrade stnreg or convert the file")
            }
        },
        .string("name", \.name),
        .string("description", \.description),
        .choice("transform", \.transform),
        .choice("similarity", \.similarity),
        .integer("lnccRadius", \.lnccRadius, in: 1...10),
        .custom("intensityPercentiles") { r, o, p in
            let pct = try r.array(o, "intensityPercentiles")
            guard pct.count == 2, let lo = pct[0].number, let hi = pct[1].number, lo >= 0, hi <= 100, lo < hi else {
                throw r.fail("intensityPercentiles", "expected two numbers [low, high] with 0 ≤ low < high ≤ 100")
            }
            p.intensityPercentiles = [lo, hi]
        },
        .custom("initialisation") { r, o, p in
            p.initialisation = try r.nested("initialisation").read(try r.object(o, "initialisation"), Initialisation.keys, into: .unread)
        },
        .custom("levels") { r, o, p in
            let items = try r.array(o, "levels")
            guard !items.isEmpty, items.count <= 8 else { throw r.fail("levels", "expected 1 to 8 levels") }
            p.levels = try items.enumerated().map { n, item in
                guard case .object(let lo) = item else { throw r.fail("levels[\(n)]", "expected an object, found \(item.typeName)") }
                return try r.nested("levels[\(n)]").read(lo, Level.keys, into: .unread)
            }
            for n in 1..<max(1, p.levels.count) where p.levels[n].spacingMM > p.levels[n - 1].spacingMM {
                throw r.fail("levels[\(n)].spacingMM", "levels must go from coarse to fine (spacing must not increase)")
            }
        },
        .number("learningRate", \.learningRate, in: 1e-6...1),
        .choice("optimizer", \.optimizer, optional: true),
        .number("convergenceMM", \.convergenceMM, in: 1e-6...10, optional: true),
        .custom("limits") { r, o, p in
            p.limits = try r.nested("limits").read(try r.object(o, "limits"), Limits.keys, into: .unread)
        },
        .custom("network", optional: true) { r, o, p in
            // The older layout kept the training keys in `network`: still read, into `training`.
            let n = try r.object(o, "network")
            let older = n.filter { key, _ in TrainingSettings.keys.contains { $0.name == key } }
            let nr = r.nested("network")
            if o["training"] != nil, let stray = older.keys.sorted().first {
                throw nr.fail(stray, "belongs in the 'training' section (the older layout kept it in 'network'); 'network' holds only 'model' and 'applications'")
            }
            p.network = try nr.read(n.filter { older[$0.key] == nil }, NetworkSettings.keys, into: .unread)
            if !older.isEmpty { p.training = try nr.read(older, TrainingSettings.keys, into: .unread) }
        },
        .custom("training", optional: true) { r, o, p in
            p.training = try r.nested("training").read(try r.object(o, "training"), TrainingSettings.keys, into: .unread)
        },
        .custom("contrast", optional: true) { r, o, p in
            p.contrast = try r.nested("contrast").read(try r.object(o, "contrast"), ContrastSettings.keys, into: .unread)
        },
    ]

    /// The value a reader starts from: required fields are overwritten (or the key is reported
    /// missing); optional ones keep their declared defaults.
    static let unread = RegistrationProtocol(
        format: "", version: 0, name: "", description: "", transform: .affine, similarity: .ncc, lnccRadius: 0,
        intensityPercentiles: [], initialisation: .unread, levels: [], learningRate: 0, limits: .unread, network: nil)
}

extension RegistrationProtocol.Initialisation {
    static let keys: [ProtocolKey<Self>] = [
        .bool("centreOfMass", \.centreOfMass),
        .bool("translationSearch", \.translationSearch),
        .number("searchSpacingMM", \.searchSpacingMM, in: 0.5...32),
        .choice("rotationSearch", \.rotationSearch),
        .number("rotationSearchMaxDegrees", \.rotationSearchMaxDegrees, in: 0...180),
        .number("rotationSearchStepDegrees", \.rotationSearchStepDegrees, in: 5...180),
        .choice("searchSimilarity", \.searchSimilarity, optional: true),
        .choice("translationSearchFeatures", \.translationSearchFeatures, optional: true),
    ]
    static let unread = Self(centreOfMass: false, translationSearch: false, searchSpacingMM: 0, rotationSearch: .never,
                             rotationSearchMaxDegrees: 0, rotationSearchStepDegrees: 0)
}

extension RegistrationProtocol.Level {
    static let keys: [ProtocolKey<Self>] = [
        .number("spacingMM", \.spacingMM, in: 0.25...32),
        .integer("iterations", \.iterations, in: 0...10_000),
        .choice("similarity", \.similarity),
    ]
    static let unread = Self(spacingMM: 0, iterations: 0)
}

extension RegistrationProtocol.Limits {
    static let keys: [ProtocolKey<Self>] = [
        .number("minScale", \.minScale, in: 0.01...1),
        .number("maxScale", \.maxScale, in: 1...100),
        .number("maxShear", \.maxShear, in: 0...10),
        .number("minFinalSimilarity", \.minFinalSimilarity, in: -1...1),
        .number("minFinalSimilarityBrainAtlas", \.minFinalSimilarityBrainAtlas, in: -1...1),
        .choice("checkMeasure", \.checkMeasure, optional: true),
    ]
    static let unread = Self(minScale: 0, maxScale: 0, maxShear: 0, minFinalSimilarity: 0)
}

extension RegistrationProtocol.NetworkSettings {
    static let keys: [ProtocolKey<Self>] = [
        .string("model", \.model),
        .integer("applications", \.applications, in: 1...4),
    ]
    static let unread = Self(model: "", applications: 0)
}

extension RegistrationProtocol.TrainingSettings {
    static let keys: [ProtocolKey<Self>] = [
        .integer("gridSize", \.gridSize, in: 8...128),
        .custom("blockChannels") { r, o, t in
            let channels = try r.array(o, "blockChannels")
            t.blockChannels = try channels.enumerated().map { i, c in
                guard let v = c.number, v == v.rounded(), v >= 1, v <= 256 else {
                    throw r.fail("blockChannels[\(i)]", "expected a whole number from 1 to 256")
                }
                return Int(v)
            }
            guard !t.blockChannels.isEmpty, t.blockChannels.count <= 8 else { throw r.fail("blockChannels", "expected 1 to 8 blocks") }
        },
        .integer("convolutionsPerBlock", \.convolutionsPerBlock, in: 1...4),
        .integer("pooledSize", \.pooledSize, in: 1...16, optional: true),
        .custom("centroids", optional: true) { r, o, t in
            t.centroids = try r.integer(o, "centroids", in: 0...256)
            // An affine needs four points in general position (NetworkArchitecture.validate says the same).
            guard t.centroids == 0 || t.centroids >= 4 else { throw r.fail("centroids", "expected 0 (the dense head) or 4 to 256 feature maps, found \(t.centroids)") }
        },
        .number("maxRotationDegrees", \.maxRotationDegrees, in: 0...180),
        .number("maxTranslation", \.maxTranslation, in: 0...2),
        .number("maxScale", \.maxScale, in: 1...4),
        .number("maxShear", \.maxShear, in: 0...1),
        .number("trainRotationDegrees", \.trainRotationDegrees, in: 0...180),
        .number("trainTranslationMM", \.trainTranslationMM, in: 0...200),
        .number("trainScale", \.trainScale, in: 0...0.5),
        .number("trainShear", \.trainShear, in: 0...0.5),
        .integer("trainSteps", \.trainSteps, in: 1...1_000_000),
        .integer("trainBatchSize", \.trainBatchSize, in: 1...64),
        .number("trainLearningRate", \.trainLearningRate, in: 1e-6...1),
        .integer("trainSeed", \.trainSeed, in: 0...Int(Int32.max)),
        .number("trainLossBlurMM", \.trainLossBlurMM, in: 0...50, optional: true),
    ]
    static let unread = Self(gridSize: 0, blockChannels: [], convolutionsPerBlock: 0, maxRotationDegrees: 0, maxTranslation: 0,
                             maxScale: 0, maxShear: 0, trainRotationDegrees: 0, trainTranslationMM: 0, trainScale: 0,
                             trainShear: 0, trainSteps: 0, trainBatchSize: 0, trainLearningRate: 0, trainSeed: 0)
}

extension RegistrationProtocol.ContrastSettings {
    static let keys: [ProtocolKey<Self>] = [
        .number("sameContrastMinLinearity", \.sameContrastMinLinearity, in: -1...1),
        .choice("crossContrastSimilarity", \.crossContrastSimilarity),
        .choice("searchSimilarity", \.searchSimilarity, optional: true),
        .choice("translationSearchFeatures", \.translationSearchFeatures, optional: true),
        .choice("headShell", \.headShell, optional: true),
        .choice("intensityRemap", \.intensityRemap, optional: true),
        .number("intensityRemapMinCorrelationRatio", \.intensityRemapMinCorrelationRatio, in: 0...1, optional: true),
        .choice("basinSimilarity", \.basinSimilarity),
        .integer("basinLevels", \.basinLevels, in: 1...8, optional: true),
        .number("basinToleranceMM", \.basinToleranceMM, in: 0...100, optional: true),
    ]
    static let unread = Self(sameContrastMinLinearity: 0, crossContrastSimilarity: .ncc)
}
