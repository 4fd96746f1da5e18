import AuditLog
import Foundation
import Testing

/// `stnreg audit keygen`, `head`, `verify --trusted-keys --expect-head` and signed `merge`, run as a user would.
@Suite struct AuditSigningCLITests {
    /// The case: deleting the last two of three records. Without a head verify cannot
    /// tell (and says so on stderr); with the head kept elsewhere it reports the cut.
    @Test func aCutOffTailIsReportedAgainstTheHeadWithItsLine() throws {
        let folder = temporaryFolder()
        let key = folder + "/lab.key", log = folder + "/a.jsonl", head = folder + "/kept.head"
        let gen = try runStnreg(["audit", "keygen", key])
        #expect(gen.status == 0, "\(gen.err)")
        let id = try AuditSigner.load(path: key).keyID
        #expect(gen.out == "wrote \(key) (private key, mode 0600) and \(key).pub (public key); key id \(id)\n")
        #expect(try runStnreg(["audit", "append-test", log, "--count", "3", "--signing-key", key]).status == 0)
        let h = try runStnreg(["audit", "head", log, "--signing-key", key, "-o", head])
        #expect(h.status == 0 && h.err == "stnreg: wrote \(head)\n", "\(h.err)")
        #expect(try AuditHead.parse(h.out, source: "stdout") == AuditHead.load(head))

        writeLines(Array(lines(log).prefix(1)), to: log)
        let blind = try runStnreg(["audit", "verify", log, "--trusted-keys", key + ".pub"])
        #expect(blind.status == 0)
        #expect(blind.out == "\(log): intact (1 record, 1 signature checked, 0 output files re-hashed)\n")
        #expect(blind.err == "stnreg: note: without --expect-head a cut-off tail or a whole rewritten log goes unnoticed (see `stnreg audit head`)\n")

        let r = try runStnreg(["audit", "verify", log, "--trusted-keys", key + ".pub", "--expect-head", head])
        #expect(r.status == 1)
        #expect(r.out == """
            \(log):2: truncated: the head counts 3 records but the log has 1: lines 2…3 were cut off (or the log was rewritten) (against head \(head))
            \(log): NOT intact: 1 problem(s) (1 record, 1 signature checked, 0 output files re-hashed)

            """)
    }

    @Test func headsInOneLineFormAndTheirConsistency() throws {
        let folder = temporaryFolder()
        let key = folder + "/k"
        _ = try runStnreg(["audit", "keygen", key])
        let log = folder + "/a.jsonl"
        _ = try runStnreg(["audit", "append-test", log, "--count", "2", "--signing-key", key])
        let old = try runStnreg(["audit", "head", log, "--line", "--signing-key", key]).out.trimmingCharacters(in: .newlines)
        _ = try runStnreg(["audit", "append-test", log, "--count", "3", "--signing-key", key])
        try runStnreg(["audit", "head", log, "--signing-key", key]).out.write(toFile: folder + "/new.head", atomically: true, encoding: .utf8)
        let r = try runStnreg(["audit", "verify", log, "--trusted-keys", key + ".pub", "--expect-head", old, "--expect-head", folder + "/new.head"])
        #expect(r.status == 0, "\(r.out)")
        let name = "last=" + String(old.split(separator: " ")[2].dropFirst(5).prefix(12)) + "…"
        let outLines = r.out.split(separator: "\n").map(String.init)
        let id = try AuditSigner.load(path: key).keyID
        #expect(outLines.count == 4)
        #expect(outLines[0].hasPrefix("\(log): holds head \(name) (2 records, ") && outLines[0].hasSuffix(", signed by trusted key \(id)); 3 records appended since"))
        #expect(outLines[1].hasSuffix("; 0 records appended since"))
        #expect(outLines[2] == "\(log): head \(folder)/new.head extends head \(name) by 3 records")
        #expect(outLines[3] == "\(log): intact (5 records, 5 signatures checked, 0 output files re-hashed)")
        // An unsigned head is not trusted when keys are given.
        let unsigned = try runStnreg(["audit", "head", log, "--line"])
        #expect(unsigned.err.hasPrefix("stnreg: note: the head is unsigned"))
        let u = try runStnreg(["audit", "verify", log, "--trusted-keys", key + ".pub", "--expect-head", unsigned.out.trimmingCharacters(in: .newlines)])
        #expect(u.status == 1 && u.out.contains(": unsigned: the head is not signed\n"))
    }

    @Test func keygenRefusesToOverwriteAndBadKeysAreOneLine() throws {
        let folder = temporaryFolder()
        let key = folder + "/k"
        #expect(try runStnreg(["audit", "keygen", key]).status == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try runStnreg(["audit", "keygen", key])
        #expect(again.status != 0)
        #expect(again.err == "Error: \(key): already exists; keys are never overwritten, so choose another name or move the old key aside\n")
        let wrong = try runStnreg(["audit", "append-test", folder + "/a.jsonl", "--signing-key", key + ".pub"])
        #expect(wrong.status != 0 && wrong.err.split(separator: "\n").count == 1 && wrong.err.contains("this is a public key"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/a.jsonl"))
        let env = try runStnreg(["audit", "append-test", folder + "/a.jsonl"], environment: ["STNREG_SIGNING_KEY": folder + "/missing.key"])
        #expect(env.status != 0 && env.err.contains("(the signing key named by $STNREG_SIGNING_KEY)"))
    }

    @Test func theSigningKeyFromTheEnvironmentSigns() throws {
        let folder = temporaryFolder()
        let key = folder + "/k"
        _ = try runStnreg(["audit", "keygen", key])
        let log = folder + "/a.jsonl"
        #expect(try runStnreg(["audit", "append-test", log, "--count", "2"], environment: ["STNREG_SIGNING_KEY": key]).status == 0)
        let v = try AuditVerifier.verify(path: log, trustedKeys: AuditTrustedKeys.load(path: key + ".pub"))
        #expect(v.problems.isEmpty && v.signaturesChecked == 2)
    }

    @Test func mergeWritesASignedHeadThatVerifyChecksTogetherWithTheShardHeads() throws {
        let folder = temporaryFolder()
        var shardHeads: [String] = []
        var pubs = ""
        for k in 1...2 {
            let key = folder + "/task\(k).key"
            _ = try runStnreg(["audit", "keygen", key])
            pubs += try String(contentsOfFile: key + ".pub", encoding: .utf8)
            let log = folder + "/shard-\(k).jsonl"
            _ = try runStnreg(["audit", "append-test", log, "--count", "3", "--tag", "t\(k)", "--signing-key", key])
            shardHeads.append(try runStnreg(["audit", "head", log, "--line", "--signing-key", key]).out.trimmingCharacters(in: .newlines))
        }
        _ = try runStnreg(["audit", "keygen", folder + "/merger.key"])
        pubs += try String(contentsOfFile: folder + "/merger.key.pub", encoding: .utf8)
        try pubs.write(toFile: folder + "/trusted.pub", atomically: true, encoding: .utf8)
        let out = folder + "/merged.jsonl"
        let m = try runStnreg(["audit", "merge", folder + "/shard-1.jsonl", folder + "/shard-2.jsonl", "-o", out,
                               "--trusted-keys", folder + "/trusted.pub", "--signing-key", folder + "/merger.key"])
        #expect(m.status == 0 && m.out == "merged 6 records from 2 logs into \(out)\n", "\(m.err)")
        #expect(m.err.hasPrefix("stnreg: wrote the merged head to \(folder)/merged.head.json (signed by key "))
        let v = try runStnreg(["audit", "verify", out, "--trusted-keys", folder + "/trusted.pub", "--expect-head", folder + "/merged.head.json",
                               "--expect-head", shardHeads[0], "--expect-head", shardHeads[1]])
        #expect(v.status == 0, "\(v.out)")
        #expect(v.out.contains("holds all 3 records of the shard of head last="))
        #expect(v.out.hasSuffix("\(out): intact (6 records, 6 signatures checked, 0 output files re-hashed)\n"))
        // The head file is never overwritten.
        let again = try runStnreg(["audit", "merge", folder + "/shard-1.jsonl", "-o", folder + "/m2.jsonl", "--head", folder + "/merged.head.json"])
        #expect(again.status != 0 && again.err.contains("the head file already exists"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/m2.jsonl"))
    }

    /// Golden help text: a changed flag is a visible diff.
    @Test func keygenAndHeadHelp() throws {
        #expect(try runStnreg(["audit", "keygen", "--help"]).out == """
            OVERVIEW: Make an Ed25519 key pair for signing audit logs: KEY (private, mode
            0600) and KEY.pub.

            Never overwrites either file. Give KEY to --signing-key (or
            $STNREG_SIGNING_KEY, or "signingKey" in the config file) of the commands that
            write records; give KEY.pub (several joined with cat) to `audit verify
            --trusted-keys`. Keep KEY readable only by the account that writes the log, and
            KEY.pub where that account cannot change it.

            USAGE: stnreg audit keygen <key> [--public <public>]

            ARGUMENTS:
              <key>                   The private key file to create.

            OPTIONS:
              --public <public>       The public key file to create (default: KEY.pub).
              --version               Show the version.
              -h, --help              Show help information.


            """)
        #expect(try runStnreg(["audit", "head", "--help"]).out == """
            OVERVIEW: Print a signed head of an audit log (record count, last hash, time,
            key id) to keep outside the log.

            Keep the head where the log's writer cannot change it (a notebook, another
            machine, a ticket, a git commit); later `audit verify LOG --expect-head HEAD`
            proves the log still holds exactly those records, and says how many were
            appended since. The log must verify first. For a merged log the head lists each
            shard's chain.

            USAGE: stnreg audit head <log> [--line] [--output <output>] [--trusted-keys <trusted-keys>] [--signing-key <key>]

            ARGUMENTS:
              <log>                   Audit log (JSON Lines).

            OPTIONS:
              --line                  Print the one-line form instead of JSON.
              -o, --output <output>   Also write the head's JSON to this new file.
              --trusted-keys <trusted-keys>
                                      Before taking the head, check every record's
                                      signature against these public keys.
              --signing-key <key>     Sign with this Ed25519 private key (from `stnreg
                                      audit keygen`).
                    Without it: $STNREG_SIGNING_KEY, else "signingKey" in the config file
                    ($STNREG_CONFIG, else ~/.config/stnreg/config.json); none: unsigned.
              --version               Show the version.
              -h, --help              Show help information.


            """)
    }
}
