#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: builds the cargo-fuzz targets under fuzz/ and puts each
# binary, its seed corpus and its libFuzzer options into $OUT. The same targets run locally with
# `cargo +nightly fuzz run <target>` (see fuzz/README.md).

cd "$SRC/pandagen/fuzz"

# Optimised, with debug assertions and overflow checks as in local `cargo fuzz run`. cargo-fuzz
# adds the coverage and sanitizer flags (the builder's cargo wrapper handles coverage builds).
cargo fuzz build -O --debug-assertions

# fuzz/ is its own cargo workspace, so its target directory is fuzz/target.
FUZZ_TARGET_OUTPUT_DIR="$SRC/pandagen/fuzz/target/x86_64-unknown-linux-gnu/release"

for src in fuzz_targets/*.rs; do
    target="$(basename "${src%.rs}")"
    cp "$FUZZ_TARGET_OUTPUT_DIR/$target" "$OUT/"
    if [ -d "seeds/$target" ] && [ -n "$(ls -A "seeds/$target")" ]; then
        rm -f "$OUT/${target}_seed_corpus.zip"
        zip -q -j "$OUT/${target}_seed_corpus.zip" "seeds/$target"/*
    fi
done

# generated_run reads its first 512 bytes as the scenario's shape and the rest as the run's own
# choices: let inputs grow past 512 bytes.
cat > "$OUT/generated_run.options" <<'OPTIONS'
[libfuzzer]
max_len = 4096
OPTIONS
