#!/usr/bin/env bash
# Builds the Lambda artifact (bootstrap.zip) with `cargo lambda build --output-format zip` under several
# release profiles, each in its own target dir, and prints the zip and binary sizes. (`pulumi up`
# writes its own reproducible zip of the same binary at deflate level 9, 0.9 % smaller: BENCHMARKS.md §5.)
# The profile in Cargo.toml is chosen from this table (see BENCHMARKS.md).
#
#   tests/bench/artifact-sizes.sh [arm64|x86-64] [variant...]
#
# Variants: lambda (the chosen [profile.lambda]), cargo-default, workspace (= [profile.release]), opt-s, opt-z, panic-abort, lto-fat, opt-s-fat, opt-z-fat. Each is a full release build
# (several minutes on 2 cores). Needs cargo-lambda (`pip install cargo-lambda`).
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:-arm64}; shift || true
variants=("$@"); [ ${#variants[@]} -gt 0 ] || variants=(cargo-default workspace opt-s panic-abort)

profile_env() {
  case "$1" in
    cargo-default) echo "CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_STRIP=none" ;;
    workspace) echo "" ;;
    lambda) echo "" ;;  # the workspace's [profile.lambda], which `pulumi up` builds with
    opt-s) echo "CARGO_PROFILE_RELEASE_OPT_LEVEL=s" ;;
    opt-z) echo "CARGO_PROFILE_RELEASE_OPT_LEVEL=z" ;;
    panic-abort) echo "CARGO_PROFILE_RELEASE_PANIC=abort" ;;
    lto-fat) echo "CARGO_PROFILE_RELEASE_LTO=fat" ;;
    opt-s-fat) echo "CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=fat" ;;
    opt-z-fat) echo "CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=fat" ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}

printf '%-14s %-7s %12s %12s %10s\n' variant arch zip_bytes binary_bytes build_s
for v in "${variants[@]}"; do
  dir="target/sizes/$v-$arch"
  mkdir -p "$dir"
  start=$(date +%s)
  env $(profile_env "$v") CARGO_TARGET_DIR="$dir" \
    cargo lambda build $([ "$v" = lambda ] && echo "--profile lambda" || echo --release) --output-format zip "--$arch" --package handler --bin handler --no-default-features \
    --lambda-dir "$dir/lambda" >"$dir.log" 2>&1 || { echo "$v: build failed, see $dir.log" >&2; exit 1; }
  end=$(date +%s)
  zip="$dir/lambda/handler/bootstrap.zip"
  bin_bytes=$(unzip -p "$zip" bootstrap | wc -c)
  printf '%-14s %-7s %12d %12d %10d\n' "$v" "$arch" "$(stat -c %s "$zip")" "$bin_bytes" $((end - start))
done
