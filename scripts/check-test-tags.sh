#!/usr/bin/env bash
# Checks that every Catch2 test case of a test binary carries the binary's kind as a tag and no
# other kind's: the folder, the CTest label and the Catch2 tag then agree, and `-L unit` or
# `"[unit]"` select the same tests. Also that no name would crash Catch when it fails (below).
# CTest runs it once per binary (tests/CMakeLists.txt).
#
#   scripts/check-test-tags.sh BINARY KIND      (KIND: unit, integration or fault)
set -euo pipefail
binary=$1 kind=$2
kinds=(unit integration fault)
others=()
for k in "${kinds[@]}"; do
    [[ "$k" == "$kind" ]] || others+=("[$k]")
done
# --list-test-names-only exits with the number of tests listed: not a failure here.
untagged=$("$binary" --list-test-names-only "~[$kind]" || true)
mixed=$("$binary" --list-test-names-only "$(IFS=,; echo "${others[*]}")" || true)
status=0
if [[ -n "$untagged" ]]; then
    echo "test cases of $(basename "$binary") without the tag [$kind]:"
    echo "$untagged" | sed 's/^/  /'
    status=1
fi
if [[ -n "$mixed" ]]; then
    echo "test cases of $(basename "$binary") tagged with another kind than [$kind]:"
    echo "$mixed" | sed 's/^/  /'
    status=1
fi
# Catch 2.13 prints a failing test's name with its continuation lines indented to just after the
# first ": ", and aborts (an assertion in its text wrapper) when that indent reaches its
# 79-column console: the failure would be lost. Keep the text before the first ": " short.
long_heads=$("$binary" --list-test-names-only |
    awk 'index($0, ": ") > 70 { print "  " $0 }' || true)
if [[ -n "$long_heads" ]]; then
    echo "test cases of $(basename "$binary") with more than 70 characters before the first \": \"" \
         "(Catch aborts printing such a name when the test fails):"
    echo "$long_heads"
    status=1
fi
total=$("$binary" --list-test-names-only | grep -c . || true)
if [[ "$total" -eq 0 ]]; then
    echo "$(basename "$binary") holds no test case"
    status=1
fi
[[ $status -eq 0 ]] && echo "$(basename "$binary"): $total test cases, all tagged [$kind]"
exit $status
