#!/usr/bin/env bash
# The fuzzing campaign: every target for RUNS executions (default 10,000,000) or MAX_SECONDS
# (default 1800), whichever comes first, on the stable toolchain (`-s none`), each with the
# dictionary of its input format. New inputs go to a scratch directory; the seed corpus in
# corpus/ is only read. Prints one summary line per target; exits 1 if any target failed
# (the crashing input is in artifacts/TARGET/).
#
#   fuzz/campaign.sh                       # all targets, 10M runs each
#   RUNS=1000000 fuzz/campaign.sh coap_udp signal_client
set -euo pipefail
cd "$(dirname "$0")"
RUNS="${RUNS:-10000000}"
MAX_SECONDS="${MAX_SECONDS:-1800}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
signal_dict="$(mktemp)"
cat dict/coap.dict dict/cbor.dict >"$signal_dict"
dict_for() {
    case "$1" in
        coap_udp | coap_tcp | coap_endpoint) echo dict/coap.dict ;;
        cbor_signal) echo dict/cbor.dict ;;
        json_signal | data_request) echo dict/json.dict ;;
        signal_*) echo "$signal_dict" ;;
        *) echo "" ;;
    esac
}
cargo fuzz build -s none
failed=0
summary=()
for t in "${targets[@]}"; do
    scratch="$(mktemp -d)"
    mkdir -p "corpus/$t"
    dict="$(dict_for "$t")"
    log="$(mktemp)"
    start=$(date +%s)
    if cargo fuzz run -s none "$t" "$scratch" "corpus/$t" -- ${dict:+-dict="$dict"} \
        -runs="$RUNS" -max_total_time="$MAX_SECONDS" -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed=1
        tail -n 40 "$log"
    fi
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*' || echo '?')"
    line="$t: $status, $execs executions in $(($(date +%s) - start)) s, coverage $cov edges"
    echo "$line"
    summary+=("$line")
    rm -rf "$scratch" "$log"
done
rm -f "$signal_dict"
printf '\ncampaign summary (RUNS=%s, MAX_SECONDS=%s)\n' "$RUNS" "$MAX_SECONDS"
printf '%s\n' "${summary[@]}"
exit "$failed"
