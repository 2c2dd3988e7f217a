#!/usr/bin/env bash
# README command 2: set up, build, and run every test. Prints one line per
# test and closes with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

set -e
bash "$here/scripts/setup.sh"
XAI_NINJA_TARGETS="tests/qtest/xen-amd-iommu-v2-test" \
    bash "$here/scripts/build.sh"
set +e

passed=0
failed=0
log_dir=$OUT/test-logs
mkdir -p "$log_dir"

record() {     # name status
    if [ "$2" = 0 ]; then
        passed=$((passed + 1)); echo "PASS: $1"
    else
        failed=$((failed + 1)); echo "FAIL: $1"
    fi
}

# The qtest suite, one TAP line per test case.
run_qtest() {
    run_qtest_as "$1" ""
}

run_qtest_as() {      # test-program label
    local name=$1 label=${2:+ ($2)} log=$log_dir/$1${2:+-$2}.tap
    local err=$log_dir/$1${2:+-$2}.err plan ran=0
    QTEST_QEMU_BINARY=$QEMU_BIN timeout 900 \
        "$BUILD_DIR/tests/qtest/$name" --tap -k > "$log" 2>"$err"
    local rc=$?
    while read -r line; do
        case "$line" in
        "ok "*"# SKIP"*)
            ran=$((ran + 1))
            record "$name$label $(echo "$line" | cut -d" " -f3-) (skipped)" 1 ;;
        "ok "*)
            ran=$((ran + 1))
            record "$name$label $(echo "$line" | cut -d" " -f3-)" 0 ;;
        "not ok "*)
            ran=$((ran + 1))
            record "$name$label $(echo "$line" | cut -d" " -f4-)" 1 ;;
        esac
    done < "$log"
    if [ $rc != 0 ] && ! grep -q '^not ok' "$log"; then
        record "$name$label (exit status $rc; see $err)" 1
        tail -20 "$err"
    fi
    # Every test the program registers ran: the plan says how many
    plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | head -1)
    if [ -z "$plan" ] || [ "$plan" = 0 ] || [ "$ran" != "$plan" ]; then
        record "$name$label ran $ran of ${plan:-?} planned tests" 1
    fi
}

# A script that prints PASS:/FAIL: lines, one record each.
run_checks() {        # label log command...
    local label=$1 log=$2
    shift 2
    "$@" > "$log" 2>&1
    local rc=$?
    while read -r line; do
        case "$line" in
        "PASS: "*) record "${line#PASS: }" 0 ;;
        "FAIL: "*) record "${line#FAIL: }" 1 ;;
        "info: "*) echo "$line" ;;
        esac
    done < "$log"
    if [ $rc != 0 ] && ! grep -q '^FAIL' "$log"; then
        record "$label (exit status $rc; see $log)" 1
        tail -20 "$log"
    fi
}

run_qtest xen-amd-iommu-v2-test

# Debian's Linux 6.1 and 6.12 drive the device (guest end to end).
if bash "$here/scripts/guest-assets.sh" > "$log_dir/guest-assets.log" 2>&1; then
    run_checks "guest end to end" "$log_dir/guest-test.log" \
        /usr/bin/python3 "$here/scripts/guest-test.py" --qemu "$QEMU_BIN"
else
    record "guest kernels and initramfs (scripts/guest-assets.sh)" 1
    tail -20 "$log_dir/guest-assets.log"
fi

# Debian's Xen 4.17, nested under TCG, runs an HVM guest whose device
# model is our QEMU with the device and a virtio-blk disk behind it.
if bash "$here/scripts/xen-assets.sh" > "$log_dir/xen-assets.log" 2>&1; then
    run_checks "Xen end to end" "$log_dir/xen-e2e.log" \
        /usr/bin/python3 "$here/scripts/xen-e2e.py" --qemu "$QEMU_BIN" \
        --guest iommu-disk
    sed -n '/^phases/,/^$/p' "$log_dir/xen-e2e.log"
    # The companion: the project's patched Xen runs the fast path.
    run_checks "Xen companion" "$log_dir/xen-companion.log" \
        bash "$here/scripts/xen-companion.sh"
    sed -n '/^phases/,/^$/p' "$log_dir/xen-companion.log"
else
    record "Xen end-to-end assets (scripts/xen-assets.sh)" 1
    tail -20 "$log_dir/xen-assets.log"
fi

# The main job: firmware places the BAR and the registers answer there.
for m in q35 pc; do
    timeout -k 10 600 /usr/bin/python3 "$here/scripts/alive.py" \
        --qemu "$QEMU_BIN" --machine $m > "$log_dir/alive-$m.log" 2>&1
    rc=$?
    record "registers on $m: alive where firmware placed them" $rc
    [ $rc = 0 ] || tail -20 "$log_dir/alive-$m.log"
done

# -device xen-amd-iommu-v2,help documents every property.
help=$(timeout -k 5 60 "$QEMU_BIN" -device xen-amd-iommu-v2,help 2>&1)
rc=0
for p in device-id mmio-base fast-path bind prefetch ppr gt ia he gio eph \
         pasid-bits host-levels guest-levels gcr3-levels; do
    echo "$help" | grep -E "^ +$p=.* - " >/dev/null || { rc=1; echo "undocumented: $p"; }
done
record "-device xen-amd-iommu-v2,help documents every property" $rc

# Hardening: the same qtest suite against a QEMU built with ASan and UBSan
# (scripts/sanitize.sh), then a short coverage-guided fuzzing campaign
# that fails on any finding.
if bash "$here/scripts/fuzz-build.sh" > "$log_dir/fuzz-build.log" 2>&1; then
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
    QEMU_BIN=$OUT/build-fuzz/qemu-system-x86_64 run_qtest_as \
        xen-amd-iommu-v2-test "asan+ubsan"
    # ... and Linux 6.12 driving the sanitized QEMU's device
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
    run_checks "guest end to end (asan+ubsan)" \
        "$log_dir/guest-test-asan.log" \
        /usr/bin/python3 "$here/scripts/guest-test.py" \
        --qemu "$OUT/build-fuzz/qemu-system-x86_64" --kernel 6.12 \
        --label asan+ubsan
    timeout -k 10 900 bash "$here/scripts/fuzz.sh" --smoke 120 \
        > "$log_dir/fuzz-smoke.log" 2>&1
    rc=$?
    # It fuzzed: a smoke run that executed nothing proves nothing
    grep -qE '^FUZZ-SUMMARY .* execs=[1-9]' "$log_dir/fuzz-smoke.log" || rc=1
    record "fuzz smoke: 120 s of generic-fuzz (ASan+UBSan), no finding" $rc
    grep -E "^FUZZ-SUMMARY|execs" "$log_dir/fuzz-smoke.log" | tail -2
    [ $rc = 0 ] || tail -30 "$log_dir/fuzz-smoke.log"
else
    record "sanitizer and fuzzer build (scripts/fuzz-build.sh)" 1
    tail -20 "$log_dir/fuzz-build.log"
fi

# With Xen (the main build) the hypervisor link is compiled and linked
# against Debian's Xen 4.17 libraries.
syms=$(nm "$QEMU_BIN")
grep -q xen_amd_iommu_v2_xen_probe <<< "$syms" &&
    grep -q xai_xen_dm_op <<< "$syms" &&
    ldd "$QEMU_BIN" | grep libxenevtchn > /dev/null
record "the Xen link is built and linked against the Xen libraries" $?

# Without Xen the hypervisor link compiles out and the device still works.
XAI_XEN=disable XAI_BUILD_DIR=$OUT/build-noxen \
    XAI_NINJA_TARGETS=qemu-system-x86_64 \
    bash "$here/scripts/build.sh" > "$log_dir/build-noxen.log" 2>&1 &&
    ! nm "$OUT/build-noxen/qemu-system-x86_64" | grep xai_xen_dm_op \
        > /dev/null &&
    "$OUT/build-noxen/qemu-system-x86_64" -device xen-amd-iommu-v2,help \
        > /dev/null 2>&1
rc=$?
record "builds and runs with --disable-xen (no Xen link inside)" $rc
[ $rc = 0 ] || tail -20 "$log_dir/build-noxen.log"

# QEMU house style on every C file we own.
c_files=$(cd "$here" && git ls-files -- '*.c' '*.h' 2>/dev/null)
(cd "$here" && perl "$QEMU_SRC/scripts/checkpatch.pl" --no-tree --terse \
    -f $c_files) > "$log_dir/checkpatch.log" 2>&1
rc=$?
# Clean means no warnings either.
grep -qE 'WARNING|ERROR' "$log_dir/checkpatch.log" && rc=1
record "checkpatch.pl clean on $(echo $c_files | wc -w) files" $rc
[ $rc = 0 ] || grep -E 'ERROR|WARNING' "$log_dir/checkpatch.log" | head -20

echo "$passed passed, $failed failed"
[ $failed = 0 ]
