#!/usr/bin/env bash
# Interleaved A/B of two builds' start-up: time to the header and to the first frame with data,
# a fresh state directory each start, the two sides alternating so a noisy machine hits both.
#   bench/start-ab.sh OLD/dist/main.js NEW/dist/main.js [ROUNDS]
set -euo pipefail
here=$(dirname "$0")
A=$1 B=$2 N=${3:-8}
for i in $(seq "$N"); do
  for side in A B; do
    main=$A; [ "$side" = B ] && main=$B
    S=$(mktemp -d)
    r=$(OPS_STATE_DIR=$S node "$here/pty-time.mjs" "node --max-semi-space-size=1 $main" | awk '/header/{h=$1} /SCORE/{s=$1} END{print h, s}')
    rm -rf "$S"
    echo "$side $r"
  done
done | awk '{h[$1]=h[$1]" "$2; s[$1]=s[$1]" "$3} END{for (k in h) print k, "header:" h[k], "| data:" s[k]}' | sort
