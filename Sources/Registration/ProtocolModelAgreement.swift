import Network

extension RegistrationProtocol.TrainingSettings {
    /// A `training` key whose value differs from what the model file stores.
    public struct ModelDisagreement: Sendable, Equatable {
        /// The key, without the section (e.g. `gridSize`).
        public var key: String
        /// The protocol's value and the model's, as written in their files.
        public var protocolValue: String
        public var modelValue: String

        public init(key: String, protocolValue: String, modelValue: String) {
            self.key = key
            self.protocolValue = protocolValue
            self.modelValue = modelValue
        }
    }

    /// The first key of this section describing the network (`gridSize`, `blockChannels`,
    /// `convolutionsPerBlock`, `pooledSize`, `centroids`: the architecture; `maxRotationDegrees`,
    /// `maxTranslation`, `maxScale`, `maxShear`: the output ranges) whose value differs from
    /// `model`'s, or nil when they all agree.
    ///
    /// The network used at `align` is the model file's, always (it stores its architecture and
    /// ranges). A protocol that says otherwise was edited after the model was trained, or points
    /// at another protocol's model: `align` refuses it rather than run a network other than the
    /// one the file describes. The training-run keys (`train…`) are not compared: they describe
    /// how a model was made, and `stnreg train --steps/--seed` may override them.
    public func disagreement(with model: ModelFile) -> ModelDisagreement? {
        let a = model.architecture, m = model.parameterMap
        func text(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
        func list(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ", ") + "]" }
        let pairs: [(String, String, String)] = [
            ("gridSize", String(gridSize), String(a.gridSize)),
            ("blockChannels", list(blockChannels), list(a.blockChannels)),
            ("convolutionsPerBlock", String(convolutionsPerBlock), String(a.convolutionsPerBlock)),
            ("pooledSize", String(pooledSize), String(a.pooledSize)),
            ("centroids", String(centroids), String(a.centroids)),
            ("maxRotationDegrees", text(maxRotationDegrees), text(m.maxRotationDegrees)),
            ("maxTranslation", text(maxTranslation), text(m.maxTranslation)),
            ("maxScale", text(maxScale), text(m.maxScale)),
            ("maxShear", text(maxShear), text(m.maxShear)),
        ]
        guard let (key, p, f) = pairs.first(where: { $0.1 != $0.2 }) else { return nil }
        return ModelDisagreement(key: key, protocolValue: p, modelValue: f)
    }
}
