import AuditLog
import Foundation
import Hashing
import Testing

/// Tamper tests for signed logs: each kind of tampering is found with its exact line and kind
/// when the verifier has the trusted keys and a head taken before the tampering; each test also
/// pins what is (or is not) found without them, as the README's threat model states.
@Suite struct AuditSignatureTests {
    /// A signed log of 10 records and its signed head, in a fresh folder.
    func signedLogAndHead(_ name: String = #function) throws -> (path: String, signer: AuditSigner, head: AuditExpectedHead) {
        let signer = try testSigner()
        let path = try makeSignedLog(temporaryFolder(name), count: 10, signer: signer)
        return (path, signer, try headOf(path, signer: signer))
    }

    func check(_ path: String, _ keys: AuditTrustedKeys?, _ heads: [AuditExpectedHead] = []) throws -> [String] {
        kinds(try AuditVerifier.verify(path: path, trustedKeys: keys, expectedHeads: heads))
    }

    @Test func aCleanSignedLogVerifiesWithKeysAndHead() throws {
        let (path, signer, head) = try signedLogAndHead()
        let v = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer), expectedHeads: [head])
        #expect(v.problems.isEmpty && v.isIntact)
        #expect(v.signaturesChecked == 10 && v.signedRecords == 10)
        #expect(v.heads.map(\.found) == [.prefix(appendedSince: 0)] && v.heads[0].signature == .valid)
        // Appending is not tampering: the head is still there, 2 records later.
        for n in 10..<12 { try AuditLogFile(path: path).append(payload(n), signer: signer) }
        let later = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer), expectedHeads: [head])
        #expect(later.problems.isEmpty && later.heads.map(\.found) == [.prefix(appendedSince: 2)])
    }

    @Test func unsignedOldLogsVerifyAsBeforeAndAreReportedWithTrustedKeys() throws {
        let path = try makeLog(temporaryFolder(), count: 3)
        #expect(try check(path, nil) == [])
        let v = try AuditVerifier.verify(path: path, trustedKeys: trusted(try testSigner()))
        #expect(kinds(v) == ["1:unsigned", "2:unsigned", "3:unsigned"])
        #expect(v.problems[0].detail == "the record is not signed")
    }

    @Test func edit() throws {
        let (path, signer, head) = try signedLogAndHead()
        var l = lines(path)
        l[4] = l[4].replacingOccurrences(of: #""value":0.45"#, with: #""value":0.46"#)
        writeLines(l, to: path)
        #expect(try check(path, trusted(signer), [head]) == ["5:edited"])
        #expect(try check(path, nil) == ["5:edited"])
    }

    @Test func editWithARecomputedHash() throws {
        let (path, signer, head) = try signedLogAndHead()
        let records = try AuditLogFile(path: path).readRecords()
        var body = records[4].payload
        body["value"] = .double(99)
        body["signedBy"] = .string(signer.keyID)   // the forger keeps the signer and the old signature
        var sealed = try #require(try JSONLineParser.parse(AuditChain.seal(body, prev: records[4].prev).line).object)
        sealed["signature"] = records[4].fields["signature"]
        var l = lines(path)
        l[4] = CanonicalJSON.string(.object(sealed))
        writeLines(l, to: path)
        #expect(try check(path, trusted(signer), [head]) == ["5:badSignature", "6:deleted"])
        #expect(try check(path, nil) == ["6:deleted"])
    }

    @Test func delete() throws {
        let (path, signer, head) = try signedLogAndHead()
        var l = lines(path)
        l.remove(at: 3)
        writeLines(l, to: path)
        let v = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer), expectedHeads: [head])
        #expect(kinds(v) == ["4:deleted", "9:rewritten"])
        #expect(v.problems[1].detail.hasSuffix("is at line 9, but the head counts 10 records: records before it were removed or added since the head was taken"))
        #expect(try check(path, nil) == ["4:deleted"])
    }

    @Test func reorder() throws {
        let (path, signer, head) = try signedLogAndHead()
        var l = lines(path)
        l.swapAt(5, 6)
        writeLines(l, to: path)
        #expect(try check(path, trusted(signer), [head]) == ["6:reordered", "7:reordered", "8:reordered"])
        #expect(try check(path, nil) == ["6:reordered", "7:reordered", "8:reordered"])
    }

    @Test func insert() throws {
        let (path, signer, head) = try signedLogAndHead()
        let records = try AuditLogFile(path: path).readRecords()
        // A forger without the key: correct prev, valid own hash, no signature.
        let forged = AuditChain.seal(payload(999), prev: records[3].hash)
        var l = lines(path)
        l.insert(String(decoding: forged.line, as: UTF8.self), at: 4)
        writeLines(l, to: path)
        #expect(try check(path, trusted(signer), [head]) == ["5:inserted", "5:unsigned", "11:rewritten"])
        #expect(try check(path, nil) == ["5:inserted"])
    }

    @Test func truncateTheTail() throws {
        let (path, signer, head) = try signedLogAndHead()
        writeLines(Array(lines(path).prefix(8)), to: path)
        let v = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer), expectedHeads: [head])
        #expect(kinds(v) == ["9:truncated"])
        #expect(v.problems[0].detail == "the head counts 10 records but the log has 8: lines 9…10 were cut off (or the log was rewritten)")
        #expect(v.problems[0].head == "head.json")
        // Not detectable without a head: what is left is a valid, validly signed chain.
        #expect(try check(path, trusted(signer)) == [])
        #expect(try check(path, nil) == [])
    }

    @Test func rewriteTheWholeChainWithRecomputedHashes() throws {
        let (path, signer, head) = try signedLogAndHead()
        var payloads = try AuditLogFile(path: path).readRecords().map(\.payload)
        payloads[2]["value"] = .double(42)
        // Without the key: unsigned, or signed with the forger's own key.
        writeLines(try rechain(payloads, signer: nil), to: path)
        #expect(try check(path, trusted(signer), [head]) == (1...9).map { "\($0):unsigned" } + ["10:rewritten", "10:unsigned"])
        #expect(try check(path, nil, [head]) == ["10:rewritten"])
        #expect(try check(path, nil) == [])   // undetectable without keys or a head
        let forger = try testSigner()
        writeLines(try rechain(payloads, signer: forger), to: path)
        #expect(try check(path, trusted(signer), [head]) == (1...9).map { "\($0):unknownKey" } + ["10:rewritten", "10:unknownKey"])
        // With the real key (stolen, or the writer itself): only the head kept elsewhere tells.
        writeLines(try rechain(payloads, signer: signer), to: path)
        let v = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer), expectedHeads: [head])
        #expect(kinds(v) == ["10:rewritten"])
        #expect(v.problems[0].detail.hasPrefix("line 10 should be the head's last record ("))
        #expect(try check(path, trusted(signer)) == [])
    }

    @Test func replaceASignature() throws {
        let (path, signer, head) = try signedLogAndHead()
        let records = try AuditLogFile(path: path).readRecords()
        var l = lines(path)
        // Record 5's (valid) signature moved onto record 4: well-formed, but not over record 4's hash.
        l[3] = l[3].replacingOccurrences(of: records[3].signature!, with: records[4].signature!)
        writeLines(l, to: path)
        let v = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer), expectedHeads: [head])
        #expect(kinds(v) == ["4:badSignature"])
        #expect(v.problems[0].detail == "the signature by key \(signer.keyID) does not match the record's hash: the record was rewritten after it was signed, or the signature was replaced")
        #expect(try check(path, nil) == [])   // without keys a signature cannot be checked
        // Removing it instead: found even without keys, since the hash covers signedBy.
        l[3] = CanonicalJSON.string(.object(records[3].fields.filter { $0.key != "signature" }))
        writeLines(l, to: path)
        #expect(try check(path, nil) == ["4:badSignature"])
        #expect(try check(path, trusted(signer), [head]) == ["4:badSignature"])
    }

    @Test func signWithAnUntrustedKey() throws {
        let (path, signer, head) = try signedLogAndHead()
        let intruder = try testSigner()
        try AuditLogFile(path: path).append(payload(10), signer: intruder)
        let v = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer), expectedHeads: [head])
        #expect(kinds(v) == ["11:unknownKey"])
        #expect(v.problems[0].detail == "signed by key \(intruder.keyID), which is not among the trusted keys")
        #expect(try check(path, trusted(signer, intruder), [head]) == [])
        #expect(try check(path, nil) == [])
    }

    @Test func aHeadSignedByAnUntrustedKeyOrChangedIsReported() throws {
        let (path, signer, head) = try signedLogAndHead()
        let other = try testSigner()
        let foreign = try headOf(path, signer: other, name: "foreign.json")
        var changed = head
        changed.name = "changed.json"
        changed.head.time = "2020-01-01T00:00:00.000Z"
        var unsigned = try headOf(path, signer: nil, name: "unsigned.json")
        unsigned.head.time = head.head.time
        let v = try AuditVerifier.verify(path: path, trustedKeys: trusted(signer), expectedHeads: [foreign, changed, unsigned])
        #expect(v.problems.map { "\($0.head ?? ""):\($0.kind.rawValue)" } == ["changed.json:badSignature", "foreign.json:unknownKey", "unsigned.json:unsigned"])
        #expect(v.problems.allSatisfy { $0.line == 0 })
    }
}

/// Shards signed by their tasks, merged: the signatures survive the merge and a dropped shard shows.
@Suite struct SignedMergeTests {
    /// Three shards (5 records each, times interleaved), each signed by its own task's key, with the heads the tasks kept.
    func shards() throws -> (folder: String, paths: [String], signers: [AuditSigner], heads: [AuditExpectedHead]) {
        let folder = temporaryFolder()
        var paths: [String] = [], signers: [AuditSigner] = [], heads: [AuditExpectedHead] = []
        for k in 0..<3 {
            let s = try testSigner()
            let path = folder + "/shard-\(k + 1).jsonl"
            for n in 0..<5 { try AuditLogFile(path: path).append(payload(3 * n + k), signer: s) }
            paths.append(path); signers.append(s)
            heads.append(try headOf(path, signer: s, name: "shard-\(k + 1).head"))
        }
        return (folder, paths, signers, heads)
    }

    @Test func aMergeKeepsEveryShardSignatureAndItsHeadListsTheShards() throws {
        let (folder, paths, signers, heads) = try shards()
        let merger = try testSigner()
        let out = folder + "/merged.jsonl"
        let m = try AuditMerge.merge(shards: paths, into: out, trustedKeys: AuditTrustedKeys(signers.map(\.publicKey)), signer: merger)
        #expect(m.records == 15)
        #expect(m.head.shards.map(\.records) == [5, 5, 5] && m.head.keyID == merger.keyID)
        #expect(Set(m.head.shards.compactMap(\.keyID)) == Set(signers.map(\.keyID)))
        let all = AuditTrustedKeys((signers + [merger]).map(\.publicKey))
        let mergedHead = AuditExpectedHead(name: "merged.head", head: m.head)
        let v = try AuditVerifier.verify(path: out, trustedKeys: all, expectedHeads: heads + [mergedHead])
        #expect(v.problems.isEmpty)
        #expect(v.signaturesChecked == 15)
        #expect(v.heads.map(\.found) == [.shard, .shard, .shard, .prefix(appendedSince: 0)])
        // The merged head as `audit head` takes it later is the same statement.
        let again = try AuditHead.of(log: out, signer: merger)
        #expect(again.shards == m.head.shards && again.lastHash == m.head.lastHash)
        // A shard key that is not trusted shows on each of its records.
        let partial = AuditTrustedKeys([signers[0], signers[1]].map(\.publicKey))
        let records = try AuditLogFile(path: out).readRecords()
        let third = records.filter { $0.signedBy == signers[2].keyID }.map { "\($0.line):unknownKey" }
        #expect(third.count == 5)
        #expect(kinds(try AuditVerifier.verify(path: out, trustedKeys: partial)) == third)
    }

    @Test func dropAShardFromAMerge() throws {
        let (folder, paths, signers, heads) = try shards()
        let keys = AuditTrustedKeys(signers.map(\.publicKey))
        // The merger leaves shard 3 out: its task's head shows it.
        let out = folder + "/merged.jsonl"
        try AuditMerge.merge(shards: Array(paths.prefix(2)), into: out, trustedKeys: keys, signer: nil)
        let v = try AuditVerifier.verify(path: out, trustedKeys: keys, expectedHeads: heads)
        #expect(v.problems.map { "\($0.head ?? ""):\($0.line):\($0.kind.rawValue)" } == ["shard-3.head:0:shardMissing"])
        #expect(v.heads.map(\.found) == [.shard, .shard, .notFound])
        #expect(try check(out, keys) == [])   // without the shard heads nothing shows

        // All merged, then shard 3's records removed and the merged chain rebuilt: the merged head shows it.
        let full = folder + "/full.jsonl"
        let m = try AuditMerge.merge(shards: paths, into: full, trustedKeys: keys, signer: signers[0])
        let kept = try AuditLogFile(path: full).readRecords().filter { $0.signedBy != signers[2].keyID }.map(\.fields)
        writeLines(try rechain(kept.map { f in f.filter { $0.key != "prev" && $0.key != "hash" } }, signer: nil), to: full)
        let mergedHead = AuditExpectedHead(name: "merged.head", head: m.head)
        let w = try AuditVerifier.verify(path: full, trustedKeys: keys, expectedHeads: [mergedHead])
        #expect(w.problems.map { "\($0.line):\($0.kind.rawValue)" } == ["0:shardMissing", "11:truncated"])
        #expect(w.problems[0].detail.hasPrefix("shard 3 of the merged head (key \(signers[2].keyID)) (5 records, last "))
        #expect(try check(full, keys) == [])
    }

    @Test func aRecordDeletedFromAMergedLogAndRechainedShowsInItsShardChain() throws {
        let (folder, paths, signers, _) = try shards()
        let keys = AuditTrustedKeys(signers.map(\.publicKey))
        let out = folder + "/merged.jsonl"
        try AuditMerge.merge(shards: paths, into: out, trustedKeys: keys, signer: nil)
        var fields = try AuditLogFile(path: out).readRecords().map { $0.fields.filter { $0.key != "prev" && $0.key != "hash" } }
        fields.remove(at: 4)   // shard 2's second record; its third is now line 7
        writeLines(try rechain(fields, signer: nil), to: out)
        #expect(try check(out, keys) == ["7:deleted"])
    }

    @Test func aShardWithABadSignatureIsNotMerged() throws {
        let (folder, paths, signers, _) = try shards()
        var l = lines(paths[1])
        let r = try AuditLogFile(path: paths[1]).readRecords()
        l[2] = l[2].replacingOccurrences(of: r[2].signature!, with: r[3].signature!)
        writeLines(l, to: paths[1])
        let out = folder + "/m.jsonl"
        #expect { try AuditMerge.merge(shards: paths, into: out, trustedKeys: AuditTrustedKeys(signers.map(\.publicKey)), signer: nil) } throws: { e in
            String(describing: e).hasPrefix("\(paths[1]):3: badSignature:")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    func check(_ path: String, _ keys: AuditTrustedKeys?) throws -> [String] {
        kinds(try AuditVerifier.verify(path: path, trustedKeys: keys))
    }
}

@Suite struct AuditHeadTests {
    @Test func theJSONAndOneLineFormsReadBackToTheSameSignedHead() throws {
        let signer = try testSigner()
        let folder = temporaryFolder()
        let path = try makeSignedLog(folder, count: 4, signer: signer)
        let head = try AuditHead.of(log: path, signer: signer)
        #expect(head.records == 4 && head.keyID == signer.keyID && head.signature?.count == 128)
        #expect(try AuditHead.parse(head.json, source: "j") == head)
        #expect(try AuditHead.parse(head.line, source: "l") == head)
        #expect(try AuditHead.load(head.line) == head)
        #expect(head.line.hasPrefix("stnreg-audit-head/1 records=4 last=\(head.lastHash) time=\(head.time) key=\(signer.keyID) sig="))
        #expect(head.signatureStatus(trusted(signer)) == .valid)
        var forged = try AuditHead.parse(head.line.replacingOccurrences(of: "records=4", with: "records=3"), source: "x")
        #expect(forged.signatureStatus(trusted(signer)) == .wrong)
        forged.signature = nil; forged.keyID = nil
        #expect(forged.signatureStatus(trusted(signer)) == .unsigned)
        // An empty log has a head too.
        let empty = folder + "/empty.jsonl"
        try Data().write(to: URL(fileURLWithPath: empty))
        let h0 = try AuditHead.of(log: empty, signer: nil)
        #expect(h0.records == 0 && h0.lastHash == AuditChain.genesis && h0.line.hasSuffix(" key=- sig=-"))
    }

    @Test(arguments: [
        ("stnreg-audit-head/1 records=2 last=abc time=t key=- sig=-", "the last hash must be 64 lowercase hex digits"),
        ("stnreg-audit-head/1 records=2", "the line has no sig= (is it cut short?)"),
        (#"{"schema":"stnreg-audit-head","schemaVersion":1,"records":-1}"#, "'records' must be a count (0 or more)"),
        (#"{"schema":"other"}"#, "'schema' is not \"stnreg-audit-head\""),
        ("hello", "neither a one-line head nor valid JSON (column 1: unexpected character 'h')"),
    ])
    func badHeadsAreOneLineErrorsNamingTheSource(_ text: String, _ problem: String) {
        #expect { try AuditHead.parse(text, source: "h.json") } throws: { e in
            String(describing: e) == "h.json: \(problem); give the JSON or the one-line form that `stnreg audit head` prints"
        }
    }

    @Test func noHeadIsTakenOfADamagedLog() throws {
        let path = try makeLog(temporaryFolder(), count: 4)
        var l = lines(path)
        l.remove(at: 1)
        writeLines(l, to: path)
        #expect { try AuditHead.of(log: path, signer: nil) } throws: { e in
            String(describing: e).hasPrefix("\(path):2: deleted:")
        }
    }
}

@Suite struct AuditKeyFileTests {
    @Test func keygenWritesAPrivateKeyOfMode0600AndNeverOverwrites() throws {
        let folder = temporaryFolder()
        let key = folder + "/lab.key"
        let id = try AuditKeyFiles.generate(privateKeyPath: key, publicKeyPath: key + ".pub")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        let signer = try AuditSigner.load(path: key)
        #expect(signer.keyID == id)
        let keys = try AuditTrustedKeys.load(path: key + ".pub")
        #expect(Array(keys.byID.keys) == [id])
        let before = try Data(contentsOf: URL(fileURLWithPath: key))
        #expect { try AuditKeyFiles.generate(privateKeyPath: key, publicKeyPath: folder + "/other.pub") } throws: { e in
            String(describing: e) == "\(key): already exists; keys are never overwritten, so choose another name or move the old key aside"
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == before)
        #expect(!FileManager.default.fileExists(atPath: folder + "/other.pub"))
    }

    @Test func aTrustedKeysFileHoldsSeveralPublicKeysAndNoPrivateOne() throws {
        let folder = temporaryFolder()
        var ids: [String] = []
        var text = ""
        for n in 0..<3 {
            let k = folder + "/k\(n)"
            ids.append(try AuditKeyFiles.generate(privateKeyPath: k, publicKeyPath: k + ".pub"))
            text += try String(contentsOfFile: k + ".pub", encoding: .utf8)
        }
        try text.write(toFile: folder + "/trusted.pub", atomically: true, encoding: .utf8)
        #expect(Set(try AuditTrustedKeys.load(path: folder + "/trusted.pub").byID.keys) == Set(ids))
        try (text + (try String(contentsOfFile: folder + "/k0", encoding: .utf8))).write(toFile: folder + "/bad.pub", atomically: true, encoding: .utf8)
        #expect { try AuditTrustedKeys.load(path: folder + "/bad.pub") } throws: { e in
            String(describing: e).hasPrefix("\(folder)/bad.pub: holds a private key;")
        }
        #expect { try AuditSigner.load(path: folder + "/k0.pub") } throws: { e in
            String(describing: e) == "\(folder)/k0.pub: this is a public key; a signing key is the private key file (the one without .pub)"
        }
        #expect { try AuditTrustedKeys.load(path: folder + "/k0") } throws: { e in String(describing: e).contains("holds a private key") }
    }

    /// The private key's PEM body appears in no record, head, log or error message.
    @Test func noPrivateKeyMaterialLeavesTheKeyFile() throws {
        let folder = temporaryFolder()
        let key = folder + "/lab.key"
        try AuditKeyFiles.generate(privateKeyPath: key, publicKeyPath: key + ".pub")
        let pem = try String(contentsOfFile: key, encoding: .utf8)
        let secret = try #require(pem.split(separator: "\n").dropFirst().first.map(String.init))   // the base64 line
        let raw = try #require(Data(base64Encoded: secret)).suffix(32)                              // the 32-byte seed
        let signer = try AuditSigner.load(path: key)
        let path = try makeSignedLog(folder, count: 3, signer: signer)
        let head = try AuditHead.of(log: path, signer: signer)
        let texts = [try String(contentsOfFile: path, encoding: .utf8), head.json, head.line]
        for t in texts {
            #expect(!t.contains(secret))
            #expect(!t.contains(Hex.encode(Array(raw))))
        }
        var damaged = pem
        damaged.replace(secret, with: String(secret.dropFirst(8)))
        try damaged.write(toFile: folder + "/damaged.key", atomically: true, encoding: .utf8)
        do { _ = try AuditSigner.load(path: folder + "/damaged.key"); Issue.record("expected an error") } catch {
            #expect(!String(describing: error).contains(String(secret.dropFirst(8))))
        }
    }

    @Test func theSigningKeyComesFromTheFlagThenTheEnvironmentThenTheConfigFile() throws {
        let folder = temporaryFolder()
        let config = folder + "/config.json"
        try #"{"signingKey": "keys/c.key"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let env = ["STNREG_SIGNING_KEY": "/e.key", "STNREG_CONFIG": config, "HOME": "/home/u"]
        #expect(try AuditSigningConfig.signingKeyPath(flag: "/f.key", environment: env)?.path == "/f.key")
        #expect(try AuditSigningConfig.signingKeyPath(flag: nil, environment: env)?.path == "/e.key")
        var noVar = env
        noVar["STNREG_SIGNING_KEY"] = ""
        let fromConfig = try AuditSigningConfig.signingKeyPath(flag: nil, environment: noVar)
        #expect(fromConfig?.path == folder + "/keys/c.key" && fromConfig?.source == .config(config))
        // The default config file is used only when it exists.
        #expect(try AuditSigningConfig.signingKeyPath(flag: nil, environment: ["HOME": folder + "/nohome"]) == nil)
        try FileManager.default.createDirectory(atPath: folder + "/xdg/stnreg", withIntermediateDirectories: true)
        try #"{"signingKey": "~/lab.key"}"#.write(toFile: folder + "/xdg/stnreg/config.json", atomically: true, encoding: .utf8)
        #expect(try AuditSigningConfig.signingKeyPath(flag: nil, environment: ["XDG_CONFIG_HOME": folder + "/xdg", "HOME": "/home/u"])?.path == "/home/u/lab.key")
        // A config that names something else is refused, with the member named.
        try #"{"signingkey": "x"}"#.write(toFile: config, atomically: true, encoding: .utf8)
        #expect { try AuditSigningConfig.signingKeyPath(flag: nil, environment: noVar) } throws: { e in
            String(describing: e) == "\(config): unknown member 'signingkey'; the only member is 'signingKey' (the path of the private key)"
        }
        // A missing key file named by the environment says where the name came from.
        #expect { try AuditSigningConfig.signer(flag: nil, environment: ["STNREG_SIGNING_KEY": folder + "/none.key"]) } throws: { e in
            String(describing: e) == "\(folder)/none.key: no such signing key; make one with `stnreg audit keygen \(folder)/none.key` (the signing key named by $STNREG_SIGNING_KEY)"
        }
    }
}
