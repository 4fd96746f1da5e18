#!/bin/bash
# stnreg on a Slurm cluster: task K of an array of N runs `stnreg batch --shard K/N`.
#
#   scripts/slurm/stnreg-array.sh ATLAS LIST OUTDIR [stnreg batch options...]
#       Run on the login node: creates the log folder, submits the array (SHARDS tasks) and
#       the merge step after it (scripts/slurm/stnreg-merge.sh, --dependency=afterany).
#   sbatch --array=1-8 scripts/slurm/stnreg-array.sh ATLAS LIST OUTDIR [options...]
#       Submits the array alone (merge with stnreg-merge.sh yourself); its output then goes to
#       ./stnreg-<job>_<task>.out, a folder Slurm never has to create.
#
# Arguments may also come from the environment; defaults suit a small node:
#   ATLAS=atlas.nii.gz  LIST=scans.txt  OUTDIR=derivatives/stnreg
#   SHARDS   number of shards N: the array size when submitting (default 4); inside a task,
#            $SLURM_ARRAY_TASK_COUNT. Keep it fixed across re-submissions (re-running only some
#            tasks, e.g. `--array=2`, needs SHARDS=N in the environment).
#   CPUS     cores per task (default 2), MEM memory per task (default 1G: two 1 mm registrations
#            at once peak at 0.55 GB, see the README), TIME limit (default 4:00:00)
#   LOGS     folder for the tasks' output (default logs, created)
#   STNREG   the stnreg executable (default: stnreg on PATH)
# Re-submitting the same command resumes: items whose record and outputs verify are skipped.
#SBATCH --job-name=stnreg
#SBATCH --array=1-4
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=04:00:00
#SBATCH --output=stnreg-%A_%a.out
set -euo pipefail

ATLAS=${1:-${ATLAS:-atlas.nii.gz}}
LIST=${2:-${LIST:-scans.txt}}
OUTDIR=${3:-${OUTDIR:-derivatives/stnreg}}
shift $(( $# < 3 ? $# : 3 ))
STNREG=${STNREG:-stnreg}

die() { echo "stnreg-array.sh: $*" >&2; exit 2; }

if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  # Submit mode (login node).
  [ -z "${SLURM_JOB_ID:-}" ] || die "run inside an array job (sbatch --array=1-N $0 ...), or on the login node to submit"
  SHARDS=${SHARDS:-4}
  CPUS=${CPUS:-2}
  MEM=${MEM:-1G}
  TIME=${TIME:-04:00:00}
  LOGS=${LOGS:-logs}
  [ -f "$ATLAS" ] || die "$ATLAS: no such atlas; give ATLAS LIST OUTDIR"
  [ -f "$LIST" ] || die "$LIST: no such list of scans; give ATLAS LIST OUTDIR"
  [[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || die "SHARDS=$SHARDS: expected a whole number of shards, 1 or more"
  here=$(cd "$(dirname "$0")" && pwd)
  mkdir -p "$LOGS" "$OUTDIR"
  # Absolute paths: the tasks may start in another folder.
  abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
  ATLAS=$(abs "$ATLAS"); LIST=$(abs "$LIST"); OUTDIR=$(cd "$OUTDIR" && pwd)
  jid=$(SHARDS=$SHARDS STNREG=$STNREG sbatch --parsable --export=ALL --array="1-$SHARDS" --cpus-per-task="$CPUS" --mem="$MEM" \
        --time="$TIME" --output="$LOGS/stnreg-%A_%a.out" "$here/stnreg-array.sh" "$ATLAS" "$LIST" "$OUTDIR" "$@")
  jid=${jid%%;*}
  mid=$(STNREG=$STNREG sbatch --parsable --export=ALL --dependency="afterany:$jid" --job-name=stnreg-merge --cpus-per-task=1 \
        --mem=1G --time=01:00:00 --output="$LOGS/stnreg-merge-%j.out" "$here/stnreg-merge.sh" "$OUTDIR" "$SHARDS" "$LIST")
  mid=${mid%%;*}
  echo "array job $jid ($SHARDS tasks), merge job $mid after it; output in $LOGS/"
  exit 0
fi

# Task mode.
SHARDS=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?not an array job: submit with sbatch --array=1-N}}
CPUS=${SLURM_CPUS_PER_TASK:-${CPUS:-2}}
(( SLURM_ARRAY_TASK_ID >= 1 && SLURM_ARRAY_TASK_ID <= SHARDS )) ||
  die "task $SLURM_ARRAY_TASK_ID is outside 1-$SHARDS: number the array from 1 (--array=1-N) and keep SHARDS=N"
echo "stnreg-array.sh: shard $SLURM_ARRAY_TASK_ID/$SHARDS of $LIST on $(hostname) with $CPUS core(s)" >&2
# Pass the allocation explicitly: the core count the process sees may be the whole node's.
exec "$STNREG" batch --atlas "$ATLAS" --list "$LIST" -o "$OUTDIR" \
  --shard "$SLURM_ARRAY_TASK_ID/$SHARDS" --jobs "$CPUS" --threads "$CPUS" "$@"
