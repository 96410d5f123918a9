#!/bin/bash
# A TwinTrain comparison as N processes on one machine with GNU parallel (apt-get install parallel), each training
# its share of the runs into one folder, then merged by 'twintrain report'.
#
#   examples/parallel/compare.sh [N]        # N shards (default 2), one thread each
#
# Settings as in examples/slurm/compare.sbatch: TWINTRAIN, TWINTRAIN_OUT, TWINTRAIN_SEEDS, TWINTRAIN_ARGS.
set -euo pipefail
shards="${1:-2}"
out="${TWINTRAIN_OUT:-cmp}"
# shellcheck disable=SC2086 # TWINTRAIN and TWINTRAIN_ARGS are word lists
parallel --halt now,fail=1 -j "$shards" \
    ${TWINTRAIN:-twintrain} compare --shard {}/"$shards" --seeds "${TWINTRAIN_SEEDS:-0,1,2,3,4,5,6,7,8,9}" \
    --out "$out" --threads 1 ${TWINTRAIN_ARGS:-} ::: $(seq 1 "$shards")
# shellcheck disable=SC2086
exec ${TWINTRAIN:-twintrain} report "$out"
