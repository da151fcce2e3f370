#!/usr/bin/env bash
# Feeds bad input to every binary (scenario, replay, shrink, campaign, bare) and checks that each
# refuses it the documented way: exit status 2 and a one-line `error: ...` on stderr — never a
# panic (101), an abort (134), a crash, a hang, or another status.
#
#   scripts/bad_input_sweep.sh              # build the release binaries, run the sweep
#   scripts/bad_input_sweep.sh --no-build   # use target/release as it is
#   BIN_DIR=path/to/bins scripts/bad_input_sweep.sh --no-build
#
# Prints one row per case (binary, case, status, first line of stderr) and a summary; exits 0 when
# every case exits 2 with a message, 1 otherwise. No QEMU needed: `bare` is given images and
# traces it must refuse before booting. Takes about a minute (a few cases read 1 GiB of
# /dev/zero to check the file-size limit).
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
if [[ "${1:-}" != "--no-build" ]]; then
    (cd "$ROOT" && cargo build --release --bins) || { echo "build failed" >&2; exit 2; }
fi
for bin in scenario replay shrink campaign bare; do
    [[ -x "$BIN_DIR/$bin" ]] || { echo "missing $BIN_DIR/$bin (build first)" >&2; exit 2; }
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2

# ----- inputs ------------------------------------------------------------------------------------

good='(name: "ok", tasks: [(name: "a", behaviour: Idle)])'
nest() { # a task $1 supervisors deep
    local t='(name: "leaf", behaviour: Idle)' i
    for ((i = 0; i < $1; i++)); do t="(name: \"s$i\", behaviour: Supervisor(children: [$t]))"; done
    printf '(name: "deep", tasks: [%s])' "$t"
}
mk() { printf '%s' "$2" > "$1"; }

# Files that are not scenario text at all.
: > empty.ron
mk spaces.ron $'   \n\t\n'
printf '\xef\xbb\xbf' > bom_only.ron
printf '\xef\xbb\xbf(name: "x", tasks: [(name: 3)])' > bom_malformed.ron

head -c 2048 /dev/zero > zeros.ron
awk 'BEGIN { srand(7); for (i = 0; i < 4096; i++) printf "%c", int(rand() * 256) }' LC_ALL=C > junk.bin
printf '(name: "caf\xe9")' > latin1.ron
printf '\xff\xfe(\x00n\x00' > utf16.ron
mkdir -p a_directory.ron
mk json.ron '{"name": "x", "tasks": []}'
mk yaml.ron $'name: x\ntasks: []\n'
# Malformed RON.
mk unclosed.ron '(name: "x", tasks: ['
mk missing_comma.ron '(name: "x" tasks: [])'
mk unterminated_string.ron '(name: "x)'
mk unterminated_comment.ron '/* (name: "x")'
mk bad_escape.ron '(name: "\q")'
mk trailing.ron "$good garbage"
mk two_values.ron "$good $good"
mk unknown_field.ron '(name: "x", sed: 3)'
mk missing_name.ron '(tasks: [])'
mk duplicate_field.ron '(name: "x", name: "y")'
mk wrong_type_name.ron '(name: 3)'
mk wrong_type_tasks.ron '(name: "x", tasks: "a")'
mk number_as_string.ron '(name: "x", seed: "7")'
mk negative.ron '(name: "x", seed: -1)'
mk float.ron '(name: "x", seed: 1.5)'
mk exponent.ron '(name: "x", limits: (max_events: 1e999))'
mk u64_overflow.ron '(name: "x", seed: 18446744073709551616)'
mk huge_number.ron '(name: "x", seed: 999999999999999999999999999999999999999999)'
mk u32_overflow.ron '(name: "x", workload: (ops: 4294967296))'
mk unknown_variant.ron '(name: "x", tasks: [(name: "a", behaviour: Sleepy)])'
mk unknown_bug.ron '(name: "x", bugs: [NoSuchBug])'
mk unknown_counter.ron '(name: "x", expect: (counters: [(Nothing, Exactly(1))]))'
mk struct_name.ron '(name: "x", limits: Wrong(max_events: 5))'
mk nan.ron '(name: "x", seed: NaN)'
mk deep_brackets.ron "(name: \"x\", tasks: $(printf '[%.0s' $(seq 1 5000)))"
mk deep_parens.ron "$(printf '(%.0s' $(seq 1 20000))"
nest 33 > deep_33.ron
nest 5000 > deep_5000.ron
mk long_name_unclosed.ron "(name: \"$(head -c 5000000 /dev/zero | tr '\0' 'x')"
# Well-formed RON, invalid scenario.
mk empty_name_task.ron '(name: "x", tasks: [(name: "", behaviour: Idle)])'
mk duplicate_task.ron '(name: "x", tasks: [(name: "a", behaviour: Idle), (name: "a", behaviour: Idle)])'
mk reserved_name.ron '(name: "x", tasks: [(name: "wl0", behaviour: Idle)], workload: (ops: 1))'
mk unknown_task.ron '(name: "x", steps: [(op: Terminate(task: "nobody"))])'
mk unknown_service.ron '(name: "x", tasks: [(name: "c", behaviour: Client(service: "none"))])'
mk unknown_cap.ron '(name: "x", tasks: [(name: "a", behaviour: Idle)], steps: [(op: Use(cap: "k", task: "a"))])'
mk zero_events.ron '(name: "x", limits: (max_events: 0))'
mk zero_time.ron '(name: "x", limits: (max_time_ns: 0))'
mk workload_tasks.ron '(name: "x", workload: (ops: 10, tasks: 4294967295))'
mk workload_tasks_10m.ron '(name: "x", workload: (ops: 10, tasks: 10000000))'
mk empty_mix.ron '(name: "x", workload: (ops: 10, mix: (spawn: 0, terminate: 0, grant: 0, delegate: 0, clone: 0, drop: 0, use_cap: 0, forged_use: 0, create_channel: 0, send: 0, receive: 0, register: 0, lookup: 0)))'
mk no_domains.ron '(name: "x", workload: (ops: 10, domains: []))'
mk chance.ron '(name: "x", faults: (message_faults: [(fault: Drop, when: Chance(per_mille: 1001))]))'
mk every_nth.ron '(name: "x", faults: (message_faults: [(fault: Drop, when: EveryNth(n: 0))]))'
mk window.ron '(name: "x", faults: (message_faults: [(fault: Drop, when: Window(from_ns: 9, until_ns: 1))]))'
mk crash_count.ron '(name: "x", tasks: [(name: "a", behaviour: Idle)], faults: (lifecycle_faults: [CrashAfterMessages(task: "a", count: 0)]))'
mk unknown_invariant.ron '(name: "x", expect: (verdict: Violation("no.such")))'
mk step_out_of_range.ron '(name: "x", expect: (steps: [(step: 4294967295, result: Ok)]))'
mk min_major.ron '(name: "x", tasks: [(name: "s", behaviour: Server(service: "e", version: (major: 1, minor: 0), min_major: 9))])'
mk self_forward.ron '(name: "x", tasks: [(name: "s", behaviour: Server(service: "e")), (name: "f", behaviour: Forwarder(service: "e", to: "e"))])'
mk zero_timeout.ron '(name: "x", tasks: [(name: "s", behaviour: Server(service: "e")), (name: "c", behaviour: Client(service: "e", timeout_ns: 0))])'
# Traces: cut short, corrupted, of another version, too deep.
"$BIN_DIR/scenario" "$ROOT/scenarios/bug_delegate_keeps_source.ron" --record good.trace > /dev/null 2>&1
"$BIN_DIR/scenario" "$ROOT/scenarios/bug_delegate_keeps_source.ron" --record good.trace.ron > /dev/null 2>&1
for n in 1 2 3 4 7; do head -c "$n" good.trace > "magic_$n.trace"; done
printf 'PGTRACE\x63' > version_99.trace
{ printf 'PGTRACE\x01'; head -c 300 junk.bin; } > magic_junk.trace
head -c "$(( $(wc -c < good.trace) / 2 ))" good.trace > half.trace
{ cat good.trace; printf 'trailing'; } > trailing.trace
head -c "$(( $(wc -c < good.trace.ron) / 2 ))" good.trace.ron > half.trace.ron
sed -E 's/format_version: [0-9]+/format_version: 99/' good.trace.ron > version_99.trace.ron
version="$(grep -m1 -o -E 'format_version: [0-9]+' good.trace.ron)"
{ printf '(%s, model_version: "x", seed: 0, scenario: ' "$version"; nest 40; printf ', scenario_digest: "0", events: [], outcome: (events: 0, trace_hash: "0", stop: Quiescent, violation: None))'; } > deep_40.trace.ron
# Bare-metal images that cannot boot.
head -c 64 /dev/zero > zero_image
cp junk.bin junk_image

# ----- cases -------------------------------------------------------------------------------------

# Every input file goes to every binary that reads one (scenario and trace readers alike).
readers=(empty.ron spaces.ron bom_only.ron bom_malformed.ron zeros.ron junk.bin latin1.ron utf16.ron
    a_directory.ron missing.ron json.ron yaml.ron unclosed.ron missing_comma.ron unterminated_string.ron
    unterminated_comment.ron bad_escape.ron trailing.ron two_values.ron unknown_field.ron missing_name.ron
    duplicate_field.ron wrong_type_name.ron wrong_type_tasks.ron number_as_string.ron negative.ron float.ron
    exponent.ron u64_overflow.ron huge_number.ron u32_overflow.ron unknown_variant.ron unknown_bug.ron
    unknown_counter.ron struct_name.ron nan.ron deep_brackets.ron deep_parens.ron deep_33.ron deep_5000.ron
    long_name_unclosed.ron empty_name_task.ron duplicate_task.ron reserved_name.ron unknown_task.ron
    unknown_service.ron unknown_cap.ron zero_events.ron zero_time.ron workload_tasks.ron
    workload_tasks_10m.ron empty_mix.ron no_domains.ron chance.ron every_nth.ron window.ron crash_count.ron
    unknown_invariant.ron step_out_of_range.ron min_major.ron self_forward.ron zero_timeout.ron
    magic_1.trace magic_2.trace magic_3.trace magic_4.trace magic_7.trace version_99.trace magic_junk.trace
    half.trace trailing.trace half.trace.ron version_99.trace.ron deep_40.trace.ron /dev/null /dev/zero)
# Files that are fine for some binaries (a valid trace is not a scenario, and so on).
not_scenarios=(good.trace good.trace.ron)
not_traces=("$ROOT/scenarios/default.ron")

cases=()
add() { cases+=("$*"); }
for f in "${readers[@]}"; do
    add scenario "$f"
    add replay "$f"
    add shrink "$f"
    add campaign run --dir "camp_$RANDOM" --runs 1 --template "$f"
    add bare --no-build --no-fault-tests --kernel "$f"
done
for f in "${not_scenarios[@]}"; do
    add scenario "$f"
    add campaign run --dir "camp_$RANDOM" --runs 1 --template "$f"
done
for f in "${not_traces[@]}"; do add replay "$f"; done
add bare --no-build --no-fault-tests --kernel zero_image
add bare --no-build --no-fault-tests --kernel junk_image
add shrink --fuzz-artifact a_directory.ron
add shrink --fuzz-artifact missing.ron
# Arguments.
S="$ROOT/scenarios/default.ron"
B="$ROOT/scenarios/bug_delegate_keeps_source.ron"
add scenario
add scenario "$S" --seed abc
add scenario "$S" --seed -1
add scenario "$S" --seed 18446744073709551616
add scenario "$S" --seed 0x
add scenario "$S" --format xml
add scenario "$S" --no-such-flag
add scenario "$S" --record a_directory.ron
add scenario "$S" --record /proc/version/x.trace
add replay
add replay good.trace --context -1
add replay good.trace --context 18446744073709551615
add replay good.trace --format yaml
add shrink
add shrink "$B" --seed nope
add shrink "$B" --max-executions -5
add shrink "$B" --format xml
add shrink good.trace --seed 3
add shrink "$B" --bug DelegateKeepsSource
add shrink --fuzz-artifact junk.bin --bug NoSuchBug
add shrink "$B" --out a_directory.ron --max-executions 50
add shrink "$B" --out /proc/version/repro.ron --max-executions 50
add campaign
add campaign run
add campaign run --dir camp_args
add campaign run --dir camp_args --runs abc
add campaign run --dir camp_args --runs -1
add campaign run --dir camp_args --duration 5d
add campaign run --dir camp_args --duration 18446744073709551615h
add campaign run --dir camp_args --runs 1 --threads 0
add campaign run --dir camp_args --runs 1 --threads 10000
add campaign run --dir camp_args --runs 1 --spot-check-per-mille 1001
add campaign run --dir camp_args --runs 1 --batch 0
add campaign run --dir camp_args --runs 1 --batch 100000000000
add campaign run --dir camp_args --runs 1 --shard 5/3
add campaign run --dir camp_args --runs 1 --shard 0/0
add campaign run --dir camp_args --runs 1 --shard x
add campaign run --dir camp_args --runs 1 --bug NoSuchBug
add campaign run --dir camp_args --runs 1 --max-workload-ops -3
add campaign run --dir junk.bin --runs 1
add campaign run --dir /proc/version/camp --runs 1
mkdir -p legacy && mk legacy/state.json '{"spec": {"swarm": true}, "next_index": 3}'
add campaign run --dir legacy --runs 1
mkdir -p corrupt && mk corrupt/state.json '{"format": 2, "spec": '
add campaign run --dir corrupt --runs 1
add campaign report a_directory.ron
add campaign report missing_dir
add campaign report corrupt
add campaign merge --out merged
add campaign merge --out merged missing_dir
add campaign merge --out merged a_directory.ron
add bare --no-build --no-fault-tests --timeout 0
add bare --no-build --no-fault-tests --kernel missing_image
add bare --no-build --no-fault-tests --kernel a_directory.ron
add bare --no-such-flag

# ----- run ---------------------------------------------------------------------------------------

ok=0
bad=0
printf '%-9s %-78s %-6s %s\n' binary case status "first line of stderr"
for case in "${cases[@]}"; do
    read -r -a argv <<< "$case"
    bin="${argv[0]}"
    timeout 120 "$BIN_DIR/$bin" "${argv[@]:1}" > /dev/null 2> stderr.txt < /dev/null
    status=$?
    first="$(grep -m1 -E '^error' stderr.txt || head -n1 stderr.txt)"
    verdict="ok"
    if [[ $status -ne 2 ]] || [[ -z "$first" ]] || grep -q -E 'panicked|RUST_BACKTRACE|memory allocation' stderr.txt; then
        verdict="BAD"
    fi
    shown="${argv[*]:1}"
    shown="${shown//$ROOT\//}"
    printf '%-9s %-78s %-6s %s\n' "$bin" "${shown:0:78}" "$status" "${first:0:160}"
    if [[ $verdict == ok ]]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "  ^^^ BAD: expected exit 2 and an error message"; fi
done
echo
echo "$((ok + bad)) cases: $ok exit 2 with a message, $bad otherwise"
[[ $bad -eq 0 ]]
