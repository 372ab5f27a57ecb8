#!/usr/bin/env bash
# The idle console's RSS every 30 s for MINUTES minutes (tmux, 120x35, 2 s refresh, fresh state).
#   bench/rss-watch.sh dist/main.js 10
set -euo pipefail
main=$1 minutes=${2:-10} name=ops-rss-$$
S=$(mktemp -d)
tmux new-session -d -s "$name" -x 120 -y 35 "OPS_STATE_DIR=$S exec node --max-semi-space-size=1 $main --refresh 2"
trap 'tmux kill-session -t "$name" 2>/dev/null; rm -rf "$S"' EXIT
sleep 3
pid=$(tmux list-panes -t "$name" -F '#{pane_pid}')
out=""
for _ in $(seq $((minutes * 2))); do
  sleep 30
  out="$out $(awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$pid/status")"
done
echo "RSS (MB) every 30 s:$out"
