#!/bin/bash
# After every task of a stnreg array has ended: merge the shard logs into one chain, verify it,
# and answer "did every item succeed?" (exit 1, naming each failed or missing item, if not).
#
#   sbatch --dependency=afterany:$ARRAY_JOB --output=logs/stnreg-merge-%j.out \
#       scripts/slurm/stnreg-merge.sh OUTDIR SHARDS [LIST]
#   (scripts/slurm/stnreg-array.sh submits it for you; it also runs by hand, outside Slurm.)
#
#   OUTDIR   the batch output folder (default derivatives/stnreg)
#   SHARDS   N of the array (merges OUTDIR/stnreg-audit.shard-*-of-N.jsonl; default 4)
#   LIST     the array's list of scans: a listed scan with no record (a task cancelled, or
#            out of time) counts as failed. Without it, only recorded failures count.
#   MERGED   the merged log (default OUTDIR/stnreg-audit.merged-<job id or UTC time>.jsonl: a
#            new name each time, since `audit merge` never overwrites)
#   FAIL_ON  failed (default) or flagged (also quality flags, limits and outliers)
#   STNREG   the stnreg executable (default: stnreg on PATH)
#SBATCH --job-name=stnreg-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --time=01:00:00
#SBATCH --output=stnreg-merge-%j.out
set -euo pipefail

OUTDIR=${1:-${OUTDIR:-derivatives/stnreg}}
SHARDS=${2:-${SHARDS:-4}}
LIST=${3:-${LIST:-}}
STNREG=${STNREG:-stnreg}
FAIL_ON=${FAIL_ON:-failed}
MERGED=${MERGED:-$OUTDIR/stnreg-audit.merged-${SLURM_JOB_ID:-$(date -u +%Y%m%dT%H%M%SZ)}.jsonl}

shopt -s nullglob
shards=("$OUTDIR"/stnreg-audit.shard-*-of-"$SHARDS".jsonl)
if [ ${#shards[@]} = 0 ]; then
  echo "stnreg-merge.sh: $OUTDIR holds no shard logs stnreg-audit.shard-*-of-$SHARDS.jsonl; check OUTDIR and SHARDS, and the tasks' output" >&2
  exit 1
fi
echo "stnreg-merge.sh: ${#shards[@]} shard logs of $SHARDS (a shard with no items writes none)" >&2
"$STNREG" audit merge "${shards[@]}" -o "$MERGED"
"$STNREG" audit verify "$MERGED"
items=()
[ -n "$LIST" ] && items=(--items "$LIST")
"$STNREG" audit review "$MERGED" --fail-on "$FAIL_ON" "${items[@]}"
echo "merged log: $MERGED"
