import Foundation
import Registration
import VolumeCore

extension BatchJob {
    /// The items of this batch (this shard's only: ``Shard``), in input order. Throws on duplicate
    /// names and on the atlas given as an input.
    /// The mask of scan `input` by the naming rule (``scanMaskSuffix``), or nil when it has none.
    public func scanMask(for input: String) -> String? {
        guard let suffix = scanMaskSuffix else { return nil }
        let folder = (input as NSString).deletingLastPathComponent
        let stem = AlignJob.fileStem(input) + suffix
        for ext in [".nii.gz", ".nii"] {
            let p = folder.isEmpty ? stem + ext : (folder as NSString).appendingPathComponent(stem + ext)
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        return nil
    }

    public func plan() throws -> (items: [Item], otherShards: Int) {
        guard toFrame != nil || atlasPath != nil else { throw BatchError("give an atlas (--atlas), or --to-frame N to register each series to its own frame") }
        if let f = toFrame, f < 0 { throw BatchError("--to-frame must be 0 or more (frames are numbered from 0)") }
        let (settings, _) = try ProtocolLocator.load(effectiveProtocol)
        let space = toFrame.map { "frame\($0)" } ?? AlignJob.fileStem(atlasPath!)
        var seen: [String: String] = [:]
        var items: [Item] = []
        var others = 0
        // With a mask naming rule, the masks in the inputs (a folder or a glob) are not items.
        let inputs = scanMaskSuffix.map { suffix in self.inputs.filter { !AlignJob.fileStem($0).hasSuffix(suffix) } } ?? self.inputs
        let member = shard?.members(of: inputs)
        for (n, input) in inputs.enumerated() {
            let name = URL(fileURLWithPath: input).lastPathComponent
            if let first = seen[name] {
                throw BatchError("\(input) and \(first) have the same file name; batch names outputs and shards by file name, so rename or link one of them")
            }
            seen[name] = input
            if let atlas = atlasPath, AtomicFile.canonical(atlas) == AtomicFile.canonical(input) {
                throw BatchError("\(input) is the atlas itself; remove it from the inputs")
            }
            if let member, !member[n] { others += 1; continue }
            let prefix = (outputFolder as NSString).appendingPathComponent(
                "\(AlignJob.fileStem(input))_space-\(space)_desc-\(settings.transform.rawValue)")
            items.append(Item(input: input, name: name, prefix: prefix))
        }
        return (items, others)
    }
}
