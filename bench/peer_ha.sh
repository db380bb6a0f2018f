#!/usr/bin/env bash
# W1 against its peer, in one session: Home Assistant's harness (shared/peers/ha/bench_ha.py,
# in the venv scripts/ha-install makes) and carhome's bench/w1.py, on the same seeded
# stream, first in memory, then with every change persisted (HA's recorder, carhome
# --durable). Prints each run's JSON line on stdout, prefixed by what it is; progress on stderr.
#
#   bench/peer_ha.sh [--homes 1000] [--updates 200000] [--seed 42]
#
# CARHOME_SHARED points at the shared directory (default: ../shared beside the repository).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

homes=1000
updates=200000
seed=42
while [ $# -gt 0 ]; do
    case "$1" in
        --homes) homes="$2"; shift 2 ;;
        --updates) updates="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        *) echo "peer_ha.sh: unknown argument $1 (expected --homes N, --updates N, --seed N)" >&2; exit 2 ;;
    esac
done

shared="${CARHOME_SHARED:-$root/../shared}"
peer="$shared/peers/ha/bench_ha.py"
if [ ! -f "$peer" ]; then
    echo "peer_ha.sh: no Home Assistant harness at $peer; set CARHOME_SHARED to the shared directory" >&2
    exit 1
fi
hass="$(scripts/ha-install)"
ha_python="$(dirname "$hass")/python"

run() {
    local label="$1"
    shift
    echo "peer_ha.sh: $label …" >&2
    local line
    line="$("$@" | tail -n1)"
    printf '%s %s\n' "$label" "$line"
}

peer_dir="$(dirname "$peer")"
run "ha-mem" bash -c 'cd "$1" && shift && exec "$@"' _ "$peer_dir" \
    "$ha_python" bench_ha.py --households "$homes" --updates "$updates" --seed "$seed"
run "carhome-mem" .venv/bin/python bench/w1.py --homes "$homes" --updates "$updates" --seed "$seed"
run "ha-recorder" bash -c 'cd "$1" && shift && exec "$@"' _ "$peer_dir" \
    "$ha_python" bench_ha.py --households "$homes" --updates "$updates" --seed "$seed" --recorder
run "carhome-durable" .venv/bin/python bench/w1.py --homes "$homes" --updates "$updates" --seed "$seed" --durable
