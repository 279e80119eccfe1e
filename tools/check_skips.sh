#!/usr/bin/env bash
# After ctest: fails when a test was skipped that tests/expected_skips.txt does not list (one
# test name per line; '#' starts a comment). A skip hides a check, so each one must be named,
# with its reason, in that file. `make test` runs this; CI therefore refuses unexpected skips.
#
# Usage: tools/check_skips.sh CTEST_OUTPUT_LOG [EXPECTED_SKIPS_FILE]
set -euo pipefail
log=$1
expected_file=${2:-$(dirname "$0")/../tests/expected_skips.txt}
[ -f "$log" ] || { echo "check_skips: no ctest log $log"; exit 1; }
expected=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$expected_file" 2>/dev/null | grep -v '^$' || true)
skipped=$(sed -nE 's/^[[:space:]]*[0-9]+ - (.*) \(Skipped\)$/\1/p' "$log")
unexpected=()
while IFS= read -r name; do
  [ -n "$name" ] || continue
  grep -qxF -- "$name" <<<"$expected" || unexpected+=("$name")
done <<<"$skipped"
if [ ${#unexpected[@]} -gt 0 ]; then
  echo "check_skips: ${#unexpected[@]} test(s) skipped that $expected_file does not list:"
  printf '  %s\n' "${unexpected[@]}"
  exit 1
fi
echo "check_skips: $(grep -c . <<<"$skipped" || true) skipped, all expected"
