#!/usr/bin/env bash
# The whole test suite, in tiers (DESIGN.md "Tests in tiers"):
#   1. unit    node --test dist/test/unit/    pure: fixtures, properties, fake kernel
#   2. kernel  node --test dist/test/kernel/  real kernel, one throw-away network namespace per test
#   3. diff    node --test dist/test/diff/    differential: reference conntrack 1.4.7 vs ours, same state
# Every tier runs even if an earlier one failed; the script fails if any tier failed.
# Kernel and diff test files run two at a time: every test has its own network
# namespace (own table, sysctls, ruleset), so they cannot see each other's state.
# A tier that cannot run (not root, no `ip netns`, no nft, no reference binary, no
# test files) FAILS with the reason: it never passes silently.
#
# Env: CT_TIERS="unit kernel diff" selects tiers; CT_TEST_TIMEOUT_MS caps one test
# (and one test file) at 300 s by default; CT_UNDER_TEST / CT_REFERENCE are passed
# to the diff tier (see test/diff/framework.ts), CTD_UNDER_TEST / CTD_REFERENCE to its
# conntrackd cases (see test/diff/conntrackd-harness.ts).
set -uo pipefail
cd "$(dirname "$0")/.."

REFERENCE="${CT_REFERENCE:-/usr/sbin/conntrack}"
REFERENCE_D="${CTD_REFERENCE:-/usr/sbin/conntrackd}"
TIERS="${CT_TIERS:-unit kernel diff}"
LOG_DIR="$(mktemp -d -t ctts-tests.XXXXXX)"
trap 'rm -rf "$LOG_DIR"' EXIT

total_pass=0
total_fail=0
failed_tiers=()

say() { printf '\n=== %s\n' "$*"; }
tier_failed() { # tier reason
  printf '\n!!! TIER %s FAILED: %s\n' "$1" "$2" >&2
  failed_tiers+=("$1")
}

kernel_prerequisites() {
  [ "$(id -u)" = 0 ] || { echo "not root: network namespaces need root (run with sudo)"; return 1; }
  local tool
  for tool in ip nft ping; do
    command -v "$tool" >/dev/null || { echo "\`$tool' not found (apt-get install iproute2 nftables iputils-ping)"; return 1; }
  done
  local probe="ctts-probe-$$" out
  out=$(ip netns add "$probe" 2>&1) || { echo "\`ip netns add' failed: $out"; return 1; }
  ip netns del "$probe"
}

diff_prerequisites() {
  kernel_prerequisites || return 1
  [ -x "$REFERENCE" ] || { echo "reference binary $REFERENCE not found (apt-get install conntrack)"; return 1; }
  local v
  v=$("$REFERENCE" -V 2>&1) || true
  [ "$v" = "conntrack v1.4.7 (conntrack-tools)" ] || { echo "$REFERENCE is not conntrack 1.4.7: $v"; return 1; }
  v=$("$REFERENCE_D" -v 2>&1 | head -n1) || true
  [ "$v" = "Connection tracking userspace daemon v1.4.7. Licensed under GPLv2." ] ||
    { echo "$REFERENCE_D is not conntrackd 1.4.7 (apt-get install conntrackd): $v"; return 1; }
}

run_tier() { # name dir [node --test options...]
  local name=$1 dir=$2
  shift 2
  say "tier $name: node --test $* $dir"
  if ! find "$dir" -name '*.test.js' -print -quit 2>/dev/null | grep -q .; then
    tier_failed "$name" "no test files in $dir (did the build run?)"
    total_fail=$((total_fail + 1))
    return
  fi
  local log="$LOG_DIR/$name.tap" status
  node --test --test-reporter=tap --test-timeout="${CT_TEST_TIMEOUT_MS:-300000}" "$@" "$dir" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  local pass fail cancelled
  pass=$(grep -E '^# pass [0-9]+$' "$log" | tail -n1 | awk '{print $3}')
  fail=$(grep -E '^# fail [0-9]+$' "$log" | tail -n1 | awk '{print $3}')
  # A test cut off by the timeout is "cancelled": it did not pass.
  cancelled=$(grep -E '^# cancelled [0-9]+$' "$log" | tail -n1 | awk '{print $3}')
  fail=$(( ${fail:-0} + ${cancelled:-0} ))
  total_pass=$((total_pass + ${pass:-0}))
  total_fail=$((total_fail + ${fail:-0}))
  if [ "$status" -ne 0 ]; then
    tier_failed "$name" "node --test exited $status (pass ${pass:-0}, fail or cancelled $fail)"
    [ "$fail" -gt 0 ] || total_fail=$((total_fail + 1))
  elif [ "${pass:-0}" -eq 0 ]; then
    tier_failed "$name" "no test ran"
    total_fail=$((total_fail + 1))
  fi
}

start=$SECONDS
say "build: tsc -p tsconfig.json"
if [ ! -f node_modules/typescript/bin/tsc ]; then
  tier_failed build "node_modules/typescript missing: run npm ci first"
  total_fail=$((total_fail + 1))
elif ! node node_modules/typescript/bin/tsc -p tsconfig.json; then
  tier_failed build "TypeScript did not compile cleanly (tests run on what it emitted)"
  total_fail=$((total_fail + 1))
fi

for tier in $TIERS; do
  case $tier in
    unit)
      run_tier unit dist/test/unit
      ;;
    kernel | diff)
      if reason=$("${tier}_prerequisites"); then
        run_tier "$tier" "dist/test/$tier" --test-concurrency=2
      else
        tier_failed "$tier" "$reason"
        total_fail=$((total_fail + 1))
      fi
      ;;
    *)
      tier_failed "$tier" "unknown tier (known: unit kernel diff)"
      total_fail=$((total_fail + 1))
      ;;
  esac
done

say "summary ($((SECONDS - start)) s)"
if [ ${#failed_tiers[@]} -gt 0 ]; then
  echo "failed: ${failed_tiers[*]}"
else
  echo "all tiers passed: $TIERS"
fi
echo "total: $total_pass passed, $total_fail failed"
[ ${#failed_tiers[@]} -eq 0 ]
