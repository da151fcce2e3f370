#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time, as CI does.
#
#   fuzz/ci.sh                        # every target, 30 s each, AddressSanitizer
#   FUZZ_SECONDS=300 fuzz/ci.sh       # longer
#   FUZZ_TARGETS="ron_loader" fuzz/ci.sh
#   FUZZ_SANITIZER=none fuzz/ci.sh    # no ASan (about 5x more execs/s on generated_run)
#   FUZZ_TOOLCHAIN=stable FUZZ_SANITIZER=none fuzz/ci.sh   # the stable-toolchain path
#
# Without a nightly toolchain (and none installable) the default run falls back to the default
# toolchain with --sanitizer none and says so.
#
# Each target starts from a temporary corpus filled with a copy of fuzz/seeds/<target>/, so the
# repository stays clean. Exit status: 0 when no target crashed, 1 when any did (its artifact is
# under fuzz/artifacts/<target>/ and the log is printed), 2 on a setup/build error.
# PANDAGEN_FUZZ_BUG (a planted bug name) is passed through to generated_run: set it only to
# demonstrate that the fuzzer finds a planted bug (the run is then expected to fail).
set -euo pipefail

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
FUZZ_SANITIZER_SET="${FUZZ_SANITIZER:-}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-address}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-20}" # seconds one input may take before libFuzzer reports a timeout
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$FUZZ_DIR")"
cd "$ROOT"

if ! [[ "$FUZZ_SECONDS" =~ ^[0-9]+$ ]] || [ "$FUZZ_SECONDS" -lt 1 ]; then
    echo "FUZZ_SECONDS must be a positive integer (got '$FUZZ_SECONDS')" >&2
    exit 2
fi

# The toolchain: nightly for AddressSanitizer. Without one (and none installable), the default
# AddressSanitizer run falls back to the stable toolchain with --sanitizer none (the documented
# stable path: same coverage guidance, no ASan); an explicit FUZZ_SANITIZER=address is an error.
CARGO=(cargo "+$TOOLCHAIN")
if ! "${CARGO[@]}" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
        echo "== installing the $TOOLCHAIN toolchain"
        timeout 120 rustup toolchain install "$TOOLCHAIN" --profile minimal || true
    fi
    if ! "${CARGO[@]}" --version >/dev/null 2>&1; then
        if [ -n "${FUZZ_SANITIZER_SET:-}" ] && [ "$FUZZ_SANITIZER" != none ]; then
            echo "no '$TOOLCHAIN' toolchain, which FUZZ_SANITIZER=$FUZZ_SANITIZER needs" >&2
            exit 2
        fi
        echo "== no '$TOOLCHAIN' toolchain: using the default toolchain with --sanitizer none"
        CARGO=(cargo)
        FUZZ_SANITIZER=none
    fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
echo "== $(cargo fuzz --version | head -n1), $("${CARGO[@]}" --version)"

mapfile -t known < <("${CARGO[@]}" fuzz list --fuzz-dir "$FUZZ_DIR")
if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
    for t in "${targets[@]}"; do
        if ! printf '%s\n' "${known[@]}" | grep -qx -- "$t"; then
            echo "FUZZ_TARGETS names '$t', which is not a fuzz target; the targets are: ${known[*]}" >&2
            exit 2
        fi
    done
else
    targets=("${known[@]}")
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "no fuzz targets found" >&2
    exit 2
fi
if [ -n "${PANDAGEN_FUZZ_BUG:-}" ]; then
    echo "== PANDAGEN_FUZZ_BUG=$PANDAGEN_FUZZ_BUG: generated_run fuzzes a model with a planted bug (a crash is expected)"
fi

echo "== building the fuzz targets (sanitizer: $FUZZ_SANITIZER)"
if ! "${CARGO[@]}" fuzz build --fuzz-dir "$FUZZ_DIR" --sanitizer "$FUZZ_SANITIZER"; then
    echo "fuzz build failed" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/pandagen-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

declare -a summary=()
failed=0
for t in "${targets[@]}"; do
    corpus="$work/corpus-$t"
    log="$work/$t.log"
    mkdir -p "$corpus"
    if [ -d "$FUZZ_DIR/seeds/$t" ]; then
        cp -R "$FUZZ_DIR/seeds/$t/." "$corpus/"
    fi
    seeds=$(find "$corpus" -type f | wc -l | tr -d ' ')
    echo "== fuzzing $t for ${FUZZ_SECONDS}s ($seeds seed inputs)"
    start=$(date +%s)
    status=0
    "${CARGO[@]}" fuzz run --fuzz-dir "$FUZZ_DIR" --sanitizer "$FUZZ_SANITIZER" "$t" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    if [ -z "$rate" ]; then # no final stats (a crash): take the last status line
        rate=$(grep -Eo 'exec/s: [0-9]+' "$log" | tail -n1 | grep -Eo '[0-9]+' || true)
    fi
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n1 | grep -Eo '[0-9]+' || true)
    corpus_size=$(find "$corpus" -type f | wc -l | tr -d ' ')
    if [ "$status" -eq 0 ]; then
        verdict="ok"
    else
        verdict="CRASH"
        failed=1
        echo "---- $t failed (exit $status) after ${elapsed}s; last lines of its log:"
        tail -n 60 "$log"
        artifact=$(grep -Eo 'Test unit written to [^ ]+' "$log" | tail -n1 | sed 's/Test unit written to //' || true)
        if [ -n "$artifact" ]; then
            echo "---- artifact: $artifact"
            bug_env="" bug_arg=""
            if [ "$t" = generated_run ] && [ -n "${PANDAGEN_FUZZ_BUG:-}" ]; then
                bug_env="PANDAGEN_FUZZ_BUG=$PANDAGEN_FUZZ_BUG " bug_arg=" --bug $PANDAGEN_FUZZ_BUG"
            fi
            echo "     reproduce: ${bug_env}${CARGO[*]} fuzz run --fuzz-dir fuzz --sanitizer $FUZZ_SANITIZER $t $artifact"
            if [ "$t" = generated_run ]; then
                echo "     shrink:    cargo run --release --bin shrink -- --fuzz-artifact $artifact$bug_arg --out repro.ron"
            fi
        fi
    fi
    summary+=("$(printf '%-16s %-6s exec/s=%-8s execs=%-10s cov=%-6s corpus=%s->%s time=%ss' \
        "$t" "$verdict" "${rate:-?}" "${execs:-?}" "${cov:-?}" "$seeds" "$corpus_size" "$elapsed")")
done

echo "== summary (sanitizer: $FUZZ_SANITIZER, ${FUZZ_SECONDS}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
