# Shared settings for the project's scripts (sourced, not run).
# shellcheck shell=bash

: "${here:?common.sh expects \$here, the project root}"

# Debian trixie's QEMU; scripts/setup.sh falls back to the newest 10.0.x.
QEMU_PIN=${QEMU_PIN:-1:10.0.13+ds-0+deb13u1}

# Everything downloaded or built lives under one ignored folder.
OUT=${XAI_OUT:-$here/_out}
DL_DIR=$OUT/dl
STAMP_DIR=$OUT/stamps
QEMU_SRC=$OUT/qemu
BUILD_DIR=${XAI_BUILD_DIR:-$OUT/build}
QEMU_BIN=$BUILD_DIR/qemu-system-x86_64

say() { printf '[xen-amd-iommu-v2] %s\n' "$*"; }
die() { printf '[xen-amd-iommu-v2] error: %s\n' "$*" >&2; exit 1; }

# Install the Debian packages among "$@" that are not installed yet.
apt_install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && return 0
    say "installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
}

# module_paths MDIR NAME...: the files (relative to MDIR) of the modules
# NAME... and of those they depend on, in load order, into MODULE_PATHS.
# Built-in modules are skipped; "-" and "_" are one in module names.
module_paths() {
    local mdir=$1 m pat line deps d
    shift
    MODULE_PATHS=()
    for m in "$@"; do
        pat=${m//[-_]/[-_]}
        if grep -qE "/${pat}\.ko$" "$mdir/modules.builtin"; then
            continue
        fi
        line=$(grep -E "/${pat}\.ko(\.[a-z]+)?:" "$mdir/modules.dep") ||
            die "$(basename "$mdir") has $m neither built in nor as a module"
        read -r -a deps <<< "${line#*:}"
        # modules.dep lists a module's dependencies most-dependent first,
        # so they load back to front, and the module itself last.
        for ((d = ${#deps[@]} - 1; d >= 0; d--)); do
            MODULE_PATHS+=("${deps[d]}")
        done
        MODULE_PATHS+=("${line%%:*}")
    done
}

# copy_modules SRCDIR DESTDIR LOADFILE PATH...: the kernel modules PATH...
# (relative to SRCDIR, dependencies first, duplicates skipped) as plain
# .ko files in DESTDIR, their names in load order in LOADFILE. Busybox
# insmod takes plain .ko files; the signature sits inside the compressed
# payload, so the result is the same signed module.
copy_modules() {
    local mdir=$1 dest=$2 load=$3 seen=" " path name
    shift 3
    : > "$load"
    for path in "$@"; do
        case "$seen" in *" $path "*) continue ;; esac
        seen="$seen$path "
        name=$(basename "$path")
        name=${name%%.ko*}
        case "$path" in
        *.ko.xz) xz -dc "$mdir/$path" > "$dest/$name.ko" ;;
        *.ko.zst) zstd -qdc "$mdir/$path" > "$dest/$name.ko" ;;
        *.ko.gz) gzip -dc "$mdir/$path" > "$dest/$name.ko" ;;
        *.ko) cp "$mdir/$path" "$dest/$name.ko" ;;
        *) die "unexpected module file $path" ;;
        esac
        echo "$name" >> "$load"
    done
}
