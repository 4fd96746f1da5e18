import Testing
import TestSupport

/// Golden help text of every command (swift-argument-parser's whole `--help` output at 80
/// columns): a changed flag, default or description is a visible diff here. `audit keygen` and
/// `audit head` are in AuditSigningCLITests. Regenerate an entry by running
/// `COLUMNS=80 stnreg <command> --help` and pasting the text between the delimiters.
struct HelpTextTests {
    static func help(_ command: [String]) throws -> String {
        let r = try runBuiltStnreg(command + ["--help"], environment: ["COLUMNS": "80"])
        #expect(r.status == 0, "\(r.err)")
        return r.out
    }

    @Test func rootHelp() throws {
        #expect(try Self.help([]) == #"""
        OVERVIEW: Affine registration of 3D medical scans (NIfTI) to an atlas, with an
        auditable record.

        USAGE: stnreg <subcommand>

        OPTIONS:
          --version               Show the version.
          -h, --help              Show help information.

        SUBCOMMANDS:
          align                   Register a scan to an atlas with an affine transform.
          batch                   Register many scans and 4D series to one atlas:
                                  parallel, resumable, shardable across a cluster.
          apply                   Resample a volume through a transform (stnreg JSON,
                                  ITK text, ANTs .mat, FSL .mat, NiftyReg, LTA).
          train                   Train the localization network on your scans against
                                  your atlas (no labels needed).
          info                    Show dims, spacing, datatype, orientation, world
                                  matrix and intensity range of NIfTI files.
          make-test-volumes       Regenerate the small bundled test volumes
                                  (TestVolumes/) from the full-resolution sources.
          audit                   Verify, review, show, merge and sign audit logs of
                                  transforms (stnreg-audit.jsonl).

          See 'stnreg help <subcommand>' for detailed help.

        """#)
    }

    @Test func alignHelp() throws {
        #expect(try Self.help(["align"]) == #"""
        OVERVIEW: Register a scan to an atlas with an affine transform.

        Writes, for output prefix P: P_warped.nii.gz (the scan on the atlas grid),
        P_transform.json (the transform, its decomposition, similarity, flags, timings,
        input hashes), and the same transform for other tools: P_itk.tfm (ITK/ANTs
        text), P_ants.mat (ANTs binary), P_fsl.mat (FLIRT), P_niftyreg.txt (reg_aladin)
        and P.lta (FreeSurfer).

        USAGE: stnreg align [<options>] <scan> <atlas>

        ARGUMENTS:
          <scan>                  The scan to move (NIfTI .nii or .nii.gz).
          <atlas>                 The atlas (fixed image); outputs are on its grid.

        OPTIONS:
          -o, --output <output>   Output prefix (default: <scan>_space-<atlas> in the
                                  current folder).
          --protocol <protocol>   Preset name in Protocols/ or a path to a protocol
                                  .json (default: brain-affine).
          --labels                The scan is a label map: resample with nearest
                                  neighbour and keep integer labels.
          --no-network            Do not use the protocol's spatial transformer:
                                  initialise by the exhaustive rotation search instead.
          -q, --quiet             Print only the summary.
          --threads <threads>     Threads to use (default: all cores). Results are
                                  identical for any value.
          --non-finite <non-finite>
                                  NaN or infinite voxels: reject the file (default), or
                                  zero: treat them as background (0); the count is
                                  recorded in the audit record. (values: reject, zero;
                                  default: reject)
          --scan-mask <scan-mask> Cost-function mask on the scan's grid (binary NIfTI,
                                  1 = use): voxels outside it are ignored by every
                                  similarity. Leave lesions, tumours or cavities out of
                                  it.
          --atlas-mask <atlas-mask>
                                  Cost-function mask on the atlas's grid (binary NIfTI,
                                  1 = use).
          --audit-log <audit-log> Audit log to append this run's record to (default:
                                  stnreg-audit.jsonl in the output folder).
          --signing-key <key>     Sign with this Ed25519 private key (from `stnreg
                                  audit keygen`).
                Without it: $STNREG_SIGNING_KEY, else "signingKey" in the config file
                ($STNREG_CONFIG, else ~/.config/stnreg/config.json); none: unsigned.
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func batchHelp() throws {
        #expect(try Self.help(["batch"]) == #"""
        OVERVIEW: Register many scans and 4D series to one atlas: parallel, resumable,
        shardable across a cluster.

        Each 3D scan gets the outputs of `stnreg align` under
        OUTDIR/<stem>_space-<atlas>_desc-<model>; each 4D series gets
        <prefix>_warped.nii.gz (all frames aligned), <prefix>_transforms.json (one
        transform record per frame), <prefix>_motion.csv and <prefix>_motion.png
        (translation and rotation per frame). One audit record per item, written after
        its outputs. Re-running skips items whose record and outputs verify (--force
        redoes them); failed items are recorded, the batch goes on, and the exit status
        is 1 when any failed. --shard K/N runs the K-th of N balanced parts (names
        sorted, dealt round-robin) with its own log; join the logs with `stnreg audit
        merge`.

        USAGE: stnreg batch [<options>] [<inputs> ...] --output <output>

        ARGUMENTS:
          <inputs>                Scans and series: NIfTI files, folders, glob patterns
                                  or list files.

        OPTIONS:
          --atlas <atlas>         The atlas (fixed image). Not needed with --to-frame.
          --list <list>           A file listing inputs, one path per line (may be
                                  repeated).
          -o, --output <output>   Output folder (created if missing).
          --protocol <protocol>   Preset name or protocol .json (default: brain-affine;
                                  rigid-same-subject with --to-frame).
          --to-frame <to-frame>   Register each 4D series' frames to its frame N
                                  (0-based; motion correction) instead of the atlas.
          --no-network            Do not use the protocol's spatial transformer:
                                  initialise by the exhaustive rotation search instead.
          --jobs <jobs>           Parallel registrations (default: the number of
                                  cores). Each uses max(1, threads / jobs) threads.
          --threads <threads>     Threads to use (default: all cores). Results are
                                  identical for any value.
          --shard <shard>         Run only part K of N (K = 1…N), e.g. --shard
                                  $SLURM_ARRAY_TASK_ID/8; its log is
                                  OUTDIR/stnreg-audit.shard-K-of-N.jsonl.
          --non-finite <non-finite>
                                  NaN or infinite voxels: reject the file (default), or
                                  zero: treat them as background (0); the count is
                                  recorded in the audit record. (values: reject, zero;
                                  default: reject)
          --scan-mask-suffix <scan-mask-suffix>
                                  Cost-function masks by name: scan DIR/X.nii.gz uses
                                  DIR/X<SUFFIX>.nii.gz (binary, 1 = use), which must
                                  exist; inputs named so are masks, not scans. E.g.
                                  --scan-mask-suffix _mask.
          --atlas-mask <atlas-mask>
                                  Cost-function mask on the atlas's grid for every item
                                  (binary NIfTI, 1 = use).
          --audit-log <audit-log> Audit log (default: OUTDIR/stnreg-audit.jsonl, or the
                                  shard's log).
          --signing-key <key>     Sign with this Ed25519 private key (from `stnreg
                                  audit keygen`).
                Without it: $STNREG_SIGNING_KEY, else "signingKey" in the config file
                ($STNREG_CONFIG, else ~/.config/stnreg/config.json); none: unsigned.
          --force                 Redo items that are already done.
          --json                  Print the summary as JSON on standard output.
          -q, --quiet             No progress output.
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func applyHelp() throws {
        #expect(try Self.help(["apply"]) == #"""
        OVERVIEW: Resample a volume through a transform (stnreg JSON, ITK text, ANTs
        .mat, FSL .mat, NiftyReg, LTA).

        Without --inverse MOVING is in scan space and --reference is the atlas (or any
        image on the grid you want). With --inverse MOVING is in atlas space (e.g. an
        atlas label map) and --reference is the scan. FSL matrices need both headers,
        which these two files provide.

        USAGE: stnreg apply <transform> <moving> --reference <reference> --output <output> [--interpolation <interpolation>] [--inverse] [--format <format>] [--threads <threads>] [--audit-log <audit-log>] [--signing-key <key>]

        ARGUMENTS:
          <transform>             Transform file.
          <moving>                The volume to resample (3D or 4D).

        OPTIONS:
          --reference <reference> The image whose grid the output takes.
          -o, --output <output>   Output NIfTI path.
          --interpolation <interpolation>
                                  linear (default) or nearest (label maps). (values:
                                  linear, nearest; default: linear)
          --inverse               Apply the inverse transform (atlas space → scan
                                  space).
          --format <format>       Transform format when it cannot be told from the
                                  file: stnreg (its JSON), itkText, antsMat, fsl,
                                  niftyReg, lta. (values: itkText, antsMat, fsl,
                                  niftyReg, lta, stnreg)
          --threads <threads>     Threads to use (default: all cores). Results are
                                  identical for any value.
          --audit-log <audit-log> Audit log to append this run's record to (default:
                                  stnreg-audit.jsonl in the output's folder).
          --signing-key <key>     Sign with this Ed25519 private key (from `stnreg
                                  audit keygen`).
                Without it: $STNREG_SIGNING_KEY, else "signingKey" in the config file
                ($STNREG_CONFIG, else ~/.config/stnreg/config.json); none: unsigned.
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func trainHelp() throws {
        #expect(try Self.help(["train"]) == #"""
        OVERVIEW: Train the localization network on your scans against your atlas (no
        labels needed).

        Each step perturbs training scans by random affines (ranges from the protocol's
        training section, widened by a curriculum), predicts, warps and minimises −NCC
        with the atlas. The progress line shows the validation −NCC and the validation
        TRE (mm) after 1–4 recurrent applications. With --synthetic DIR the items are
        synthetic subjects of random contrast drawn from the label maps in DIR; the
        network sees that contrast and the loss warps the subject's T1 rendering.
        Writes MODEL, MODEL-stem.checkpoint.json, .losses.csv and .losses.png. Ctrl-C
        stops cleanly after writing a checkpoint and the model; --resume continues from
        the checkpoint. Same seed and inputs give the same weights.

        USAGE: stnreg train [<options>] --atlas <atlas>

        OPTIONS:
          --atlas <atlas>         The atlas (fixed image) the network learns to align
                                  to.
          --scans <scans>         Training scans: files, folders, glob patterns or list
                                  files.
          --synthetic <dir>       Train on unlimited synthetic subjects of random
                                  contrast drawn from the label maps in this folder
                                  (TestVolumes layout); --scans then make a quarter of
                                  the items.
          --write-samples <n>     Write this many synthetic subjects (NIfTI and
                                  samples.png) to --samples-folder and stop.
          --samples-folder <samples-folder>
                                  Folder for --write-samples. (default:
                                  synthetic-samples)
          --train-rotation <train-rotation>
                                  Training rotation range, degrees (default: the
                                  protocol's trainRotationDegrees).
          --train-translation <train-translation>
                                  Training translation range, mm (default: the
                                  protocol's trainTranslationMM).
          --train-scale <train-scale>
                                  Training scale range, relative (default: the
                                  protocol's trainScale).
          --validation <validation>
                                  Held-out validation scans (default: the last training
                                  scan is held out when there are several).
          -o, --output <output>   Model file to write (e.g. Protocols/my.stnmodel);
                                  required unless --write-samples.
          --protocol <protocol>   Protocol whose 'training' section defines the network
                                  and its training (default: brain-affine).
          --steps <steps>         Training steps (default: the protocol's trainSteps).
          --seed <seed>           Random seed (default: the protocol's trainSeed).
          --resume                Continue from the checkpoint beside the output.
          --threads <threads>     Threads to use (default: all cores). Results are
                                  identical for any value.
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func infoHelp() throws {
        #expect(try Self.help(["info"]) == #"""
        OVERVIEW: Show dims, spacing, datatype, orientation, world matrix and intensity
        range of NIfTI files.

        USAGE: stnreg info <files> ... [--json]

        ARGUMENTS:
          <files>                 NIfTI files (.nii or .nii.gz).

        OPTIONS:
          --json                  Print JSON instead of a table.
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func makeTestVolumesHelp() throws {
        #expect(try Self.help(["make-test-volumes"]) == #"""
        OVERVIEW: Regenerate the small bundled test volumes (TestVolumes/) from the
        full-resolution sources.

        Each source is blurred for anti-aliasing and resampled trilinearly onto an
        isotropic RAS grid of --spacing mm covering its field of view, then stored as
        uint8. The brain mask is (grey + white matter probability) ≥ 50 % on the MNI152
        grid. The label atlases (Harvard-Oxford cortical, AAL, JHU white matter), when
        present, are resampled by nearest neighbour onto the MNI152 grid.

        USAGE: stnreg make-test-volumes --source <source> [--output <output>] [--spacing <spacing>]

        OPTIONS:
          --source <source>       Folder holding the source volumes (ch2.nii.gz,
                                  ch2bet.nii.gz,
                                  mni_icbm152_*_tal_nlin_sym_09a_converted.nii.gz;
                                  optionally the label atlases
                                  HarvardOxford-cort-maxprob-thr0-1mm.nii.gz,
                                  aal.nii.gz, JHU-WhiteMatter-labels-1mm.nii.gz).
          --output <output>       Output folder. (default: TestVolumes)
          --spacing <spacing>     Isotropic spacing in mm. (default: 2.0)
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func auditHelp() throws {
        #expect(try Self.help(["audit"]) == #"""
        OVERVIEW: Verify, review, show, merge and sign audit logs of transforms
        (stnreg-audit.jsonl).

        align and apply append one record per run (success or failure) to
        stnreg-audit.jsonl in the output folder, or to --audit-log PATH. Each record
        carries the SHA-256 of the one before it, so a change inside the log shows up
        in `audit verify`; with a signing key (`audit keygen`) each record is signed,
        and a head (`audit head`) kept elsewhere shows a cut-off tail or a rewritten
        log.

        USAGE: stnreg audit <subcommand>

        OPTIONS:
          --version               Show the version.
          -h, --help              Show help information.

        SUBCOMMANDS:
          verify                  Check an audit log's hash chain, signatures and
                                  expected heads, and re-hash the output files still on
                                  disk.
          review                  Summarise an audit log: a table, flagged runs and
                                  outliers, optionally an HTML page with images.
          show                    Print one audit record in full and optionally
                                  re-export its transform.
          merge                   Verify shard audit logs and join them into one new
                                  chain, ordered by time then id; write its head.
          head                    Print a signed head of an audit log (record count,
                                  last hash, time, key id) to keep outside the log.
          keygen                  Make an Ed25519 key pair for signing audit logs: KEY
                                  (private, mode 0600) and KEY.pub.

          See 'stnreg help audit <subcommand>' for detailed help.

        """#)
    }

    @Test func auditVerifyHelp() throws {
        #expect(try Self.help(["audit", "verify"]) == #"""
        OVERVIEW: Check an audit log's hash chain, signatures and expected heads, and
        re-hash the output files still on disk.

        Reports each edited, deleted, reordered or inserted record, a torn last line,
        and each changed or missing output, as LOG:LINE: KIND: DETAIL. With
        --trusted-keys, also each unsigned, wrongly signed or unknown-key record. With
        --expect-head, a cut-off tail (truncated) or a rewritten log (rewritten), or,
        for a merged log, a shard that is not all in it (shardMissing); two heads of
        the same log are checked to be consistent (the newer extends the older).
        Without keys and heads a cut-off tail or a whole rewritten log cannot be
        noticed. Exit status 0 only when the log is intact.

        USAGE: stnreg audit verify <log> [--skip-outputs] [--trusted-keys <trusted-keys>] [--expect-head <head> ...]

        ARGUMENTS:
          <log>                   Audit log (JSON Lines).

        OPTIONS:
          --skip-outputs          Check the chain only; do not re-hash output files.
          --trusted-keys <trusted-keys>
                                  File of trusted public keys (PEM; .pub files joined
                                  with cat): every record must be signed by one of them.
          --expect-head <head>    A head from `stnreg audit head` (a file, or the
                                  one-line form): the log must still hold exactly that
                                  prefix (repeatable).
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func auditReviewHelp() throws {
        #expect(try Self.help(["audit", "review"]) == #"""
        OVERVIEW: Summarise an audit log: a table, flagged runs and outliers,
        optionally an HTML page with images.

        A row is flagged when the run failed, carries quality flags, breaks the
        protocol's limits (flip, extreme scale or shear, low final similarity), or when
        a decomposed parameter is an outlier in the log (robust z-score |z| > 3.5).
        --fail-on failed|flagged answers "did every item succeed?": exit 1, with one
        line per failing item on standard error, when the latest record of any item (a
        batch item, or a scan and atlas) failed, or is flagged; with --items LIST, a
        listed input without any record fails too.

        USAGE: stnreg audit review <log> [--flagged] [--since <since>] [--scan <scan>] [--json] [--html <html>] [--fail-on <fail-on>] [--items <items>]

        ARGUMENTS:
          <log>                   Audit log (JSON Lines).

        OPTIONS:
          --flagged               Show only flagged records.
          --since <since>         Show only records at or after this UTC date or time
                                  (YYYY-MM-DD or ISO 8601).
          --scan <scan>           Show only records whose scan path contains this text.
          --json                  Print JSON instead of a table.
          --html <html>           Write an HTML page (index.html) with quick-look PNG
                                  images into this folder.
          --fail-on <fail-on>     Exit 1, listing the items, when any item's latest
                                  record failed, or is flagged. (values: failed,
                                  flagged)
          --items <items>         With --fail-on: the batch's inputs (list file, folder
                                  or glob); a listed input with no record fails.
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func auditShowHelp() throws {
        #expect(try Self.help(["audit", "show"]) == #"""
        OVERVIEW: Print one audit record in full and optionally re-export its transform.

        USAGE: stnreg audit show <id> [--log <log>] [--export <export>] [--format <format>]

        ARGUMENTS:
          <id>                    The record: the start of its id or hash (4+
                                  characters), or line:N.

        OPTIONS:
          --log <log>             Audit log (default: stnreg-audit.jsonl in the current
                                  folder). (default: stnreg-audit.jsonl)
          --export <export>       Write the record's transform to this file.
          --format <format>       Format of --export: itkText, antsMat, fsl, niftyReg,
                                  lta, stnreg (its JSON: the transform only; FSL and
                                  LTA read the recorded input headers). (values:
                                  itkText, antsMat, fsl, niftyReg, lta, stnreg)
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func auditMergeHelp() throws {
        #expect(try Self.help(["audit", "merge"]) == #"""
        OVERVIEW: Verify shard audit logs and join them into one new chain, ordered by
        time then id; write its head.

        Each merged record keeps its shard hash (sourceHash, sourcePrev), origin
        (sourceShard: path and line) and shard signature (signedBy, sourceSignature),
        which `audit verify` re-checks. A shard that does not verify (with
        --trusted-keys: also its signatures) is refused. The merged head (every shard's
        record count and last hash; signed with the signing key when there is one) goes
        to --head; keep a copy out of the log writer's reach.

        USAGE: stnreg audit merge <shards> ... --output <output> [--head <head>] [--trusted-keys <trusted-keys>] [--signing-key <key>]

        ARGUMENTS:
          <shards>                Shard logs.

        OPTIONS:
          -o, --output <output>   The merged log to create (must not exist).
          --head <head>           The merged head to create (default: OUTPUT with
                                  .jsonl replaced by .head.json).
          --trusted-keys <trusted-keys>
                                  Refuse shards whose records are not all signed by one
                                  of these public keys.
          --signing-key <key>     Sign with this Ed25519 private key (from `stnreg
                                  audit keygen`).
                Without it: $STNREG_SIGNING_KEY, else "signingKey" in the config file
                ($STNREG_CONFIG, else ~/.config/stnreg/config.json); none: unsigned.
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }

    @Test func auditAppendTestHelp() throws {
        #expect(try Self.help(["audit", "append-test"]) == #"""
        OVERVIEW: Append N test records to an audit log (for tests).

        USAGE: stnreg audit append-test <log> [--count <count>] [--tag <tag>] [--signing-key <key>]

        ARGUMENTS:
          <log>

        OPTIONS:
          --count <count>         (default: 1)
          --tag <tag>             (default: test)
          --signing-key <key>     Sign with this Ed25519 private key (from `stnreg
                                  audit keygen`).
                Without it: $STNREG_SIGNING_KEY, else "signingKey" in the config file
                ($STNREG_CONFIG, else ~/.config/stnreg/config.json); none: unsigned.
          --version               Show the version.
          -h, --help              Show help information.


        """#)
    }
}
