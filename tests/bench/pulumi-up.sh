#!/usr/bin/env bash
# Times the first and the second `pulumi up` of a new user's stack in a fresh checkout (no
# target/), the program run by `cargo run` as Pulumi Gestalt's language host runs it, on the
# stand-in engine. Prints a Markdown table (BENCHMARKS.md, "pulumi up").
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --locked -p relay-tests --bin pulumi-up
checkout=$(mktemp -d /tmp/relay-checkout.XXXXXX)
trap 'rm -rf "$checkout"' EXIT
git clone --quiet . "$checkout"
# A new user's machine: no target directory, so the program and the Lambda zip are built from
# scratch (crates already downloaded to the Cargo home, as after any earlier `cargo fetch`).
unset CARGO_TARGET_DIR
target/debug/pulumi-up "$checkout"
