#!/usr/bin/env bash
# Build (and cache) what the Xen end-to-end run needs, all under _out/xen/:
#
#   boot/xen                 Debian's Xen 4.17 hypervisor (multiboot ELF)
#   boot/vmlinuz             the dom0 kernel (Debian's 6.1, as the guests')
#   boot/dom0-initrd.gz      busybox + virtio-blk, ext4 and Xen modules; it
#                            mounts the dom0 image and runs its xai-dom0-init
#   dom0.img                 ext4 image of a Debian bookworm minbase dom0
#                            with Xen's tools, the project's QEMU (as the
#                            HVM guest's device model) and the HVM guest
#
# In the dom0 image:
#   /opt/xai/bin/qemu-system-x86_64   our QEMU, stripped
#   /opt/xai/guest/{vmlinuz,initramfs.cpio.gz}
#                            the HVM guest: Debian's 6.12 and the demo
#                            guest's initramfs (scripts/guest-init.sh)
#   /opt/xai/guest/ivrs.bin  the IVRS QEMU builds for the device at the
#                            guest's slot, given to xl as acpi_firmware
#   /opt/xai/bin/xai-qmp     a one-command QMP client
#   /etc/xai/<kind>.cfg      the guest's xl configs (iommu, iommu-disk,
#                            plain: see hvm_config)
#   /sbin/xai-dom0-init      dom0's init: Xen's daemons, xl create, the
#                            guest's consoles forwarded to dom0's, QMP
#
# scripts/xen-e2e.py boots it; docs/system/devices/xen-e2e.rst tells more.
#
# Packages come from Debian's archive only; the hypervisor package is
# downloaded and unpacked, never installed on the host. Idempotent: a
# second run rebuilds only what changed (seconds).
#
#   scripts/xen-assets.sh                 build what is missing or stale
#   XAI_XEN_GUEST_SLOT=8 scripts/xen-assets.sh
#                                         the IOMMU's slot in the HVM guest
#   scripts/xen-assets.sh --patched       the same for the project's patched
#                                         Xen (scripts/xen-build.sh), under
#                                         _out/xen-patched/e2e/: its test
#                                         hypervisor, the stock dom0 tree
#                                         with the patched tools on top, the
#                                         QEMU built against the patched
#                                         libxendevicemodel (scripts/
#                                         build.sh into _out/build-xenpatched)
#                                         and guests that ask for the IOMMU
#                                         with guest_iommu=1 alone
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

VARIANT=stock
if [ "${1:-}" = --patched ]; then
    VARIANT=patched
fi
STOCK_DIR=$OUT/xen
PATCHED_DIR=$OUT/xen-patched
if [ $VARIANT = patched ]; then
    XEN_DIR=$PATCHED_DIR/e2e
    QEMU_BIN=$OUT/build-xenpatched/qemu-system-x86_64
else
    XEN_DIR=$STOCK_DIR
fi
XDL_DIR=$STOCK_DIR/dl
ROOTFS=$XEN_DIR/rootfs
IMAGE=$XEN_DIR/dom0.img
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
XEN_SERIES=4.17
# Slot of the IOMMU (and the next one of the guest's virtio-blk disk) on
# the HVM guest's bus 0; the IVRS names the IOMMU by this device ID.
GUEST_SLOT=${XAI_XEN_GUEST_SLOT:-8}
GUEST_KERNEL=${XAI_XEN_GUEST_KERNEL:-6.12}
# As scripts/guest.py boots the demo guest; dom0's init may append more.
# xen_emul_unplug=never: Linux would have QEMU unplug its emulated disks
# (the virtio-blk one too) in favour of PV ones. console=hvc0 last: /init
# reports on the PV console, a shared ring, where each character on the
# emulated UART would be a round trip to the device model.
GUEST_CMDLINE="console=ttyS0 console=hvc0 iomem=relaxed panic=-1 quiet xen_emul_unplug=never"
DOM0_KERNEL=6.1

# Dom0 modules: the root disk, its file system (ext4 asks the crypto API
# for crc32c), and Xen's device nodes (loaded in this order, after their
# dependencies).
DOM0_MODULES=(virtio_pci virtio_blk crc32c_generic ext4 xen-evtchn xenfs
              xen-privcmd xen-gntdev xen-gntalloc)

# Dom0 userland beyond minbase. The QEMU libraries are added from the
# binary's own ldd.
DOM0_PACKAGES=("xen-utils-$XEN_SERIES" xenstore-utils seabios python3
               procps)

install_tools() {
    apt_install_missing debootstrap e2fsprogs busybox-static cpio gzip kmod \
        binutils python3
}

# Write stdin to $1 (mode $2) only when it differs, so that mtimes say
# what changed (the temporary file lives outside the dom0 tree, whose
# folders' mtimes count too).
put() {
    local dest=$1 tmp
    tmp=$(mktemp "$XEN_DIR/put.XXXXXX")
    cat > "$tmp"
    if cmp -s "$tmp" "$dest"; then
        rm -f "$tmp"
    else
        chmod "${2:-644}" "$tmp"
        mv "$tmp" "$dest"
    fi
}

put_file() {    # put_file SRC DEST [MODE]
    put "$2" "${3:-644}" < "$1"
}

# --- the hypervisor ---------------------------------------------------

xen_version() {      # the newest xen-hypervisor-4.17-amd64 the archive has
    apt-cache policy "xen-hypervisor-$XEN_SERIES-amd64" |
        sed -n 's/^ *Candidate: //p'
}

hypervisor() {
    local ver=$1 deb
    deb=$(find "$XDL_DIR" -maxdepth 1 \
        -name "xen-hypervisor-${XEN_SERIES}-amd64_${ver//+/?}_amd64.deb" |
        head -n 1)
    if [ -z "$deb" ]; then
        say "downloading xen-hypervisor-$XEN_SERIES-amd64=$ver"
        (cd "$XDL_DIR" && apt-get download -q -o APT::Sandbox::User=root \
            "xen-hypervisor-$XEN_SERIES-amd64=$ver")
        deb=$(find "$XDL_DIR" -maxdepth 1 \
            -name "xen-hypervisor-${XEN_SERIES}-amd64_*_amd64.deb" |
            sort -V | tail -n 1)
        [ -n "$deb" ] || die "apt-get download left no xen-hypervisor .deb"
    fi
    if [ "$(cat "$XEN_DIR/boot/.xen-from" 2>/dev/null)" = "$(basename "$deb")" ] &&
       [ -f "$XEN_DIR/boot/xen" ]; then
        return
    fi
    say "unpacking $(basename "$deb")"
    local tmp=$XEN_DIR/tmp-xen
    rm -rf "$tmp"
    dpkg-deb -x "$deb" "$tmp"
    local gz
    gz=$(find "$tmp/boot" -name "xen-$XEN_SERIES-amd64.gz" | head -n 1)
    [ -n "$gz" ] || die "$deb has no boot/xen-$XEN_SERIES-amd64.gz"
    gzip -dc "$gz" > "$XEN_DIR/boot/xen"
    rm -rf "$tmp"
    basename "$deb" > "$XEN_DIR/boot/.xen-from"
}

# --- the dom0 kernel and its initramfs --------------------------------

# Unpack the dom0 kernel's modules (the .deb scripts/guest-assets.sh
# downloaded) and collect DOM0_MODULES with their dependencies.
dom0_kernel() {
    local kdir deb release
    kdir=$(cd "$OUT/guest/$DOM0_KERNEL" && pwd -P)
    release=$(basename "$kdir")
    deb=$OUT/guest/dl/$(cat "$kdir/.from-deb")
    [ -f "$deb" ] || die "no $deb: run scripts/guest-assets.sh $DOM0_KERNEL"
    local mdest=$XEN_DIR/dom0-modules
    put_file "$kdir/vmlinuz" "$XEN_DIR/boot/vmlinuz"
    if [ "$(cat "$mdest/.from" 2>/dev/null)" = "$(basename "$deb") ${DOM0_MODULES[*]}" ]; then
        return
    fi
    say "collecting dom0 modules from $(basename "$deb")"
    local tree=$XEN_DIR/tmp-kernel
    rm -rf "$tree" "$mdest"
    mkdir -p "$mdest"
    dpkg-deb -x "$deb" "$tree"
    depmod -b "$tree" "$release"
    local mdir=$tree/lib/modules/$release
    module_paths "$mdir" "${DOM0_MODULES[@]}"
    copy_modules "$mdir" "$mdest" "$mdest/load" "${MODULE_PATHS[@]}"
    rm -rf "$tree"
    echo "$(basename "$deb") ${DOM0_MODULES[*]}" > "$mdest/.from"
}

dom0_initrd_init() {
    cat <<'EOF'
#!/bin/busybox sh
# dom0's initramfs: load the modules, mount the dom0 image, run its init.
/bin/busybox mkdir -p /bin /proc /sys /dev /newroot
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "=== XAI-E2E dom0-initramfs $(cut -d' ' -f1 /proc/uptime) ==="
while read -r m; do
    insmod "/lib/modules/$m.ko" || echo "xai: insmod $m failed"
done < /lib/modules/load
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 /dev/vda /newroot; then
    echo "=== XAI-E2E dom0-failed no root file system ==="
    echo o > /proc/sysrq-trigger
    exec sh
fi
umount /sys
umount /proc
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/xai-dom0-init
EOF
}

dom0_initrd() {
    local image=$XEN_DIR/boot/dom0-initrd.gz
    local stage=$XEN_DIR/initrd-stage
    rm -rf "$stage"
    mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
    cp /bin/busybox "$stage/bin/busybox"
    dom0_initrd_init > "$stage/init"
    chmod 755 "$stage/init"
    cp "$XEN_DIR/dom0-modules/"*.ko "$XEN_DIR/dom0-modules/load" \
        "$stage/lib/modules/"
    # Reproducible archive: sorted, owned by root, fixed mtimes.
    find "$stage" -exec touch -h -d @0 {} +
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
         cpio --quiet -o -H newc -R 0:0 --reproducible) |
        gzip -9n | put "$image"
    rm -rf "$stage"
}

# --- the dom0 root file system ----------------------------------------

# Debian packages that hold the libraries our QEMU links (host side);
# dpkg knows a library by one of its two names (merged /usr).
qemu_lib_packages() {
    local libs=() lib
    for lib in $(ldd "$QEMU_BIN" | awk '$3 ~ /^\// {print $3}'); do
        libs+=("$lib" "$(readlink -f "$lib")")
    done
    dpkg -S "${libs[@]}" 2> /dev/null | cut -d: -f1 | sort -u || true
}

rootfs_cleanup() {
    if mountpoint -q "$ROOTFS/proc" 2>/dev/null; then
        umount "$ROOTFS/proc" || true
    fi
}

# apt-get install "$@" inside the dom0 tree, leaving no package lists.
rootfs_install() {
    trap rootfs_cleanup EXIT
    mount -t proc proc "$ROOTFS/proc"
    {
        chroot "$ROOTFS" apt-get update -q &&
        chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "$@" &&
        chroot "$ROOTFS" apt-get clean
    } > "$XEN_DIR/apt.log" 2>&1 || {
        tail -n 20 "$XEN_DIR/apt.log" >&2
        die "installing $* in the dom0 tree failed (log: $XEN_DIR/apt.log)"
    }
    rootfs_cleanup
    trap - EXIT
    rm -rf "$ROOTFS"/var/lib/apt/lists/*_Packages \
        "$ROOTFS"/var/cache/apt/*.bin
}

rootfs_base() {
    local xver=$1
    local want
    want="$SUITE minbase xen=$xver ${DOM0_PACKAGES[*]} $(qemu_lib_packages | tr '\n' ' ')"
    if [ "$(cat "$XEN_DIR/stamps/rootfs" 2>/dev/null)" = "$want" ] &&
       [ -x "$ROOTFS/usr/bin/apt-get" ]; then
        return
    fi
    if [ ! -x "$ROOTFS/usr/bin/apt-get" ] ||
       [ ! -f "$XEN_DIR/stamps/debootstrap" ]; then
        rootfs_cleanup
        mountpoint -q "$ROOTFS/proc" 2>/dev/null &&
            die "$ROOTFS/proc is still mounted"
        rm -rf "$ROOTFS"
        say "debootstrap $SUITE (minbase) into $ROOTFS"
        nice debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" \
            > "$XEN_DIR/debootstrap.log" 2>&1 || {
            tail -n 20 "$XEN_DIR/debootstrap.log" >&2
            die "debootstrap failed (log: $XEN_DIR/debootstrap.log)"
        }
        touch "$XEN_DIR/stamps/debootstrap"
    fi
    # The hypervisor comes from the host's archive view, security updates
    # included: the dom0 tools must be the same release.
    cat > "$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
    # No daemons start inside the chroot.
    printf '#!/bin/sh\nexit 101\n' > "$ROOTFS/usr/sbin/policy-rc.d"
    chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
    local libs
    libs=$(qemu_lib_packages | tr '\n' ' ')
    say "installing dom0 packages: ${DOM0_PACKAGES[*]} (and $libs)"
    # shellcheck disable=SC2086
    rootfs_install "${DOM0_PACKAGES[@]}" "xen-utils-$XEN_SERIES=$xver" \
        "libxenmisc$XEN_SERIES=$xver" $libs
    echo "$want" > "$XEN_DIR/stamps/rootfs"
}

# Firmware our QEMU loads as a device model: the option ROM that boots
# the guest's kernel, and what the VGA and VNC code look for. SeaBIOS and
# its VGA BIOSes come with Debian's seabios in the dom0.
QEMU_FIRMWARE=(linuxboot_dma.bin linuxboot.bin kvmvapic.bin)

rootfs_project() {
    local opt=$ROOTFS/opt/xai
    mkdir -p "$opt/bin" "$opt/guest" "$ROOTFS/etc/xai" \
        "$ROOTFS/usr/share/qemu"
    local tmp
    tmp=$(mktemp "$XEN_DIR/qemu.XXXXXX")
    strip --strip-unneeded -o "$tmp" "$QEMU_BIN"
    put_file "$tmp" "$opt/bin/qemu-system-x86_64" 755
    rm -f "$tmp"
    local fw
    for fw in "${QEMU_FIRMWARE[@]}"; do
        [ -f "/usr/share/qemu/$fw" ] ||
            die "no /usr/share/qemu/$fw: run scripts/setup.sh (qemu-system-data)"
        put_file "/usr/share/qemu/$fw" "$ROOTFS/usr/share/qemu/$fw"
    done
    if [ -d /usr/share/qemu/keymaps ]; then
        mkdir -p "$ROOTFS/usr/share/qemu/keymaps"
        put_file /usr/share/qemu/keymaps/en-us \
            "$ROOTFS/usr/share/qemu/keymaps/en-us"
    fi
    # Every library the device model links resolves inside the dom0.
    local libs
    libs=$(chroot "$ROOTFS" ldd /opt/xai/bin/qemu-system-x86_64) ||
        die "ldd of QEMU in the dom0 failed: $libs"
    if grep -q 'not found' <<< "$libs"; then
        die "dom0 lacks QEMU's libraries: $(grep 'not found' <<< "$libs")"
    fi

    local gk
    gk=$(cd "$OUT/guest/$GUEST_KERNEL" && pwd -P)
    put_file "$gk/vmlinuz" "$opt/guest/vmlinuz"
    put_file "$gk/initramfs.cpio.gz" "$opt/guest/initramfs.cpio.gz"
    local kind kinds=(iommu iommu-disk plain)
    if [ $VARIANT = patched ]; then
        # hvmloader builds the IVRS; QEMU's disk translation needs its own
        # engine, which the fast path replaces: no iommu-disk
        kinds=(iommu plain)
    else
        ivrs "$opt/guest/ivrs.bin"
    fi
    for kind in "${kinds[@]}"; do
        hvm_config "$kind" | put "$ROOTFS/etc/xai/$kind.cfg"
    done
    dom0_init | put "$ROOTFS/sbin/xai-dom0-init" 755
    qmp_client | put "$opt/bin/xai-qmp" 755
}

# The IVRS QEMU builds for a q35 machine with the device at GUEST_SLOT on
# bus 0, read from fw_cfg under qtest. Bus 0 of the HVM guest (xenfv)
# holds the device at the same slot, and its registers at the same fixed
# base (mmio-base, default 0xfed80000, which hvmloader leaves alone): the
# table describes the guest's IOMMU as it is, but for one thing. QEMU's
# table gives the IOMMU every device ID (0000-ffff), and Linux then runs
# its per-device loops (one INVALIDATE_DEVTAB_ENTRY per ID, each a write
# of the tail register) over all 65536; under Xen every such write is a
# round trip to the device model in dom0 (some 15 ms nested under TCG),
# which makes minutes. The HVM guest has one bus, so its table says so:
# the ranges end at 00ff.
ivrs() {
    local dest=$1 stamp=$XEN_DIR/stamps/ivrs
    local want
    want="$GUEST_SLOT $(stat -c %Y "$QEMU_BIN") $(cksum < "$here/scripts/xen-assets.sh")"
    if [ -f "$dest" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return
    fi
    say "reading the IVRS QEMU builds for the device at slot $GUEST_SLOT"
    local tmp
    tmp=$(mktemp "$XEN_DIR/ivrs.XXXXXX")
    python3 - "$QEMU_BIN" "$GUEST_SLOT" "$tmp" <<'EOF'
import base64, os, socket, struct, subprocess, sys, tempfile

qemu, slot, out = sys.argv[1], int(sys.argv[2], 0), sys.argv[3]
work = tempfile.mkdtemp(prefix="xai-ivrs-")
path = os.path.join(work, "qtest.sock")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
srv.settimeout(60)
proc = subprocess.Popen([qemu, "-nodefaults", "-display", "none",
                         "-M", "q35", "-accel", "qtest",
                         "-qtest", "unix:" + path, "-qtest-log", "/dev/null",
                         "-device", "xen-amd-iommu-v2,addr=0x%x" % slot])
try:
    conn, _ = srv.accept()
    f = conn.makefile("rwb", buffering=0)

    def qt(cmd):
        f.write(cmd.encode() + b"\n")
        while True:
            line = f.readline().decode().strip()
            if line.startswith("IRQ"):
                continue
            if not line.startswith("OK"):
                sys.exit("qtest %r: %r" % (cmd, line))
            return line[2:].strip()

    def be32(v):    # the fw_cfg DMA address registers are big-endian
        return struct.unpack("<I", struct.pack(">I", v))[0]

    DESC, BUF = 0x100000, 0x200000

    def fw_cfg_read(key, size):
        # FWCfgDmaAccess: control (select | read), length, address
        desc = struct.pack(">IIQ", key << 16 | 0x08 | 0x02, size, BUF)
        qt("b64write 0x%x %d %s" % (DESC, len(desc),
                                    base64.b64encode(desc).decode()))
        qt("outl 0x514 0x0")
        qt("outl 0x518 0x%x" % be32(DESC))
        ctl = base64.b64decode(qt("b64read 0x%x 4" % DESC))
        if struct.unpack(">I", ctl)[0] != 0:
            sys.exit("fw_cfg DMA of key 0x%x failed" % key)
        return base64.b64decode(qt("b64read 0x%x %d" % (BUF, size)))

    count = struct.unpack(">I", fw_cfg_read(0x19, 4))[0]
    listing = fw_cfg_read(0x19, 4 + 64 * count)[4:]
    files = {}
    for i in range(count):
        size, key = struct.unpack(">IH", listing[64 * i:64 * i + 6])
        name = listing[64 * i + 8:64 * i + 64].split(b"\0")[0].decode()
        files[name] = (key, size)
    key, size = files["etc/acpi/tables"]
    blob = fw_cfg_read(key, size)
finally:
    proc.kill()
    proc.wait()
    os.unlink(path)
    os.rmdir(work)

off = blob.find(b"IVRS")
if off < 0:
    sys.exit("QEMU built no IVRS")
length = struct.unpack("<I", blob[off + 4:off + 8])[0]
table = bytearray(blob[off:off + length])
# The first IVHD (at 48) names the IOMMU by its device ID, bus 0.
devid = struct.unpack("<H", table[52:54])[0]
if devid != slot << 3:
    sys.exit("IVRS names IOMMU %04x, not 00:%02x.0" % (devid, slot))
base = struct.unpack("<Q", table[56:64])[0]
# Device entries of each IVHD: the ranges end with bus 0. QEMU's IVRS
# covers the IOMMU's bus and the buses below it, so on the HVM guest's
# single bus this changes nothing; it guards against wider ranges.
ivhd = 48
ranges = 0
while ivhd < length:
    kind = table[ivhd]
    ivhd_len = struct.unpack("<H", table[ivhd + 2:ivhd + 4])[0]
    entry = ivhd + (24 if kind == 0x10 else 40)
    while entry < ivhd + ivhd_len:
        etype = table[entry]
        last = struct.unpack("<H", table[entry + 1:entry + 3])[0]
        if etype == 4:
            ranges += 1
            if last > 0xff:
                table[entry + 1:entry + 3] = struct.pack("<H", 0xff)
        if etype >= 0x40:       # 8-byte (and variable) entries: none here
            sys.exit("unexpected IVHD entry type 0x%x" % etype)
        entry += 4
    ivhd += ivhd_len
if not ranges:
    sys.exit("no device range in QEMU's IVRS")
# The firmware's linker computes the checksum; here it is done by hand.
table[9] = 0
table[9] = -sum(table) & 0xff
open(out, "wb").write(table)
print("IVRS: %d bytes, IOMMU 00:%02x.0, registers at 0x%x, devices "
      "0000-00ff" % (length, slot, base))
EOF
    put_file "$tmp" "$dest"
    rm -f "$tmp"
    echo "$want" > "$stamp"
}

# The HVM guest's xl configs, /etc/xai/<kind>.cfg:
#   iommu       the test: xen-amd-iommu-v2 at 00:<slot>.0, its IVRS as an
#               extra ACPI table, and no device behind it (--patched:
#               guest_iommu = 1 alone, libxl and hvmloader do the rest)
#   iommu-disk  the same with a virtio-blk disk behind the IOMMU
#               (iommu_platform=on), whose DMA the IOMMU translates
#   plain       no IOMMU, the virtio-blk disk only: a baseline
hvm_config() {
    local kind=$1 slot iommu=no disk=no platform=off wait=90 linger=''
    slot=$(printf %x "$GUEST_SLOT")
    case "$kind" in
    iommu) iommu=yes; wait=4 ;;
    iommu-disk) iommu=yes; disk=yes; platform=on ;;
    plain) disk=yes ;;
    *) die "unknown guest kind $kind" ;;
    esac
    local args=()
    # The patched toolstack adds the device itself (guest_iommu=1)
    # dom0 injects a page request when the guest's report starts: the
    # guest stays up long enough to take it (dom0 looks once a second;
    # 5 s of the guest's time proved too short once beside fuzzing)
    if [ $iommu = yes ]; then
        linger=' xai.linger=15'
    fi
    # Last, the guest moves the window over its RAM, which Xen refuses,
    # and writes the function's config space again and again: QEMU must
    # report the refusal once, not at every write
    if [ $iommu = yes ] && [ $VARIANT = patched ]; then
        linger="$linger xai.refuse=20"
    fi
    if [ $iommu = yes ] && [ $VARIANT = stock ]; then
        args+=('"-device", "xen-amd-iommu-v2,id=iommu0,addr=0x'"$slot"'",')
        # QEMU's engine serves the registers: what it takes for the
        # guest's mistakes goes to the device model's log (none expected)
        args+=('"-d", "guest_errors",')
    fi
    if [ $disk = yes ]; then
        args+=('"-drive", "file=/run/xai/disk.img,if=none,id=d0,format=raw",')
        args+=('"-device", "virtio-blk-pci,drive=d0,iommu_platform='"$platform"',disable-legacy=on,addr=0x'"$(printf %x $((GUEST_SLOT + 1)))"'",')
    fi
    args+=('"-qmp", "unix:/run/xai/qmp.sock,server=on,wait=off",')
    cat <<EOF
# The HVM guest of the Xen end-to-end run (scripts/xen-e2e.py), "$kind",
# with our QEMU as its device model. Written by scripts/xen-assets.sh.
name = "xai-hvm"
type = "hvm"
hap = 1
memory = 512
vcpus = 1
kernel = "/opt/xai/guest/vmlinuz"
ramdisk = "/opt/xai/guest/initramfs.cpio.gz"
cmdline = "$GUEST_CMDLINE xai.wait=$wait$linger"
serial = "file:/run/xai/hvm-serial.log"
vnc = 0
vga = "none"
EOF
    if [ $iommu = yes ] && [ $VARIANT = patched ]; then
        echo '# libxl adds -device xen-amd-iommu-v2 (the name tells dom0'"'"'s init'
        echo '# to inject a page request over QMP), hvmloader its IVRS'
        echo 'guest_iommu = 1'
    elif [ $iommu = yes ]; then
        echo 'acpi_firmware = "/opt/xai/guest/ivrs.bin"'
    fi
    cat <<EOF
device_model_version = "qemu-xen"
device_model_override = "/opt/xai/bin/qemu-system-x86_64"
device_model_args_hvm = [
$(printf '    %s\n' "${args[@]}")
]
# preserve: dom0 asks the device model over QMP after the guest is done.
on_poweroff = "preserve"
on_reboot = "destroy"
on_crash = "preserve"
EOF
}

# A small QMP client for dom0 (python3 is there for Xen's tools anyway).
qmp_client() {
    cat <<'EOF'
#!/usr/bin/python3
"""xai-qmp SOCKET COMMAND [JSON-ARGS]: one QMP command, its answer as JSON."""
import json, socket, sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rwb", buffering=0)
f.readline()


def run(cmd, args=None):
    msg = {"execute": cmd}
    if args:
        msg["arguments"] = args
    f.write(json.dumps(msg).encode() + b"\n")
    while True:
        rsp = json.loads(f.readline())
        if "event" not in rsp:
            return rsp


run("qmp_capabilities")
args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
print(json.dumps(run(sys.argv[2], args), sort_keys=True))
EOF
}

dom0_init() {
    cat <<'EOF'
#!/bin/bash
# dom0's init for the Xen end-to-end run (written by scripts/xen-assets.sh).
# Starts Xen's daemons, creates the HVM guest from /etc/xai/<kind>.cfg,
# forwards its consoles here, hands its IOMMU a page request over QMP,
# reports what the device model said, and powers the machine off.
# scripts/xen-e2e.py reads the lines it prints: the markers
#   === XAI-E2E <phase> [detail] <dom0 uptime> ===
# and "hvm| " (guest's hvc0), "hvs| " (guest's serial port), "dm| " (the
# device model's log), "xl| ", "xen| " and "xai: " lines.
export PATH=/opt/xai/bin:/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mark() {
    local up _
    read -r up _ < /proc/uptime
    echo "=== XAI-E2E $* $up ==="
}
fail() {
    mark "dom0-failed $*"
    finish
}
finish() {
    sync
    mark poweroff
    echo o > /proc/sysrq-trigger
    # init must not exit
    while :; do sleep 60; done
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/xen /run/xenstored /run/xai /var/log/xen /var/lib/xen \
         /var/lib/xenstored
mark dom0-userspace "$(uname -r)"

# Kernel command line: xai.timeout=S (how long the guest has),
# xai.guest=iommu|iommu-disk|plain (which /etc/xai/<name>.cfg), xai.guest_cpus=LIST
# (the physical CPUs the guest's vCPU may run on), xai.guest_args=A,B,..
# (more options for the guest's kernel, commas for spaces)
cmdline=$(cat /proc/cmdline)
opt() {
    local w
    for w in $cmdline; do
        case "$w" in "$1="*) echo "${w#*=}"; return 0 ;; esac
    done
    return 1
}
timeout=$(opt xai.timeout) || timeout=240
guest=$(opt xai.guest) || guest=iommu
xlargs=()
if cpus=$(opt xai.guest_cpus); then
    xlargs+=("cpus=\"$cpus\"")
fi
if more=$(opt xai.guest_args); then
    base=$(sed -n 's/^cmdline = "\(.*\)"$/\1/p' "/etc/xai/$guest.cfg")
    xlargs+=("cmdline=\"$base ${more//,/ }\"")
fi

mount -t xenfs xenfs /proc/xen || fail "mount xenfs"
xenstored --pid-file /run/xenstored.pid || fail "xenstored"
xen-init-dom0 || fail "xen-init-dom0"
# The guest's PV console (hvc0, where its /init reports) goes to a file.
mkdir -p /var/log/xen/console
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest \
    --log-dir=/var/log/xen/console || fail "xenconsoled"
mark xen-tools-up

# The guest's disk (iommu-disk and plain): random data whose checksum the
# guest reports back.
dd if=/dev/urandom of=/run/xai/disk.img bs=1M count=4 status=none
echo "xai: disk sha256 $(sha256sum /run/xai/disk.img | cut -d' ' -f1)"
: > /run/xai/hvm-serial.log
hvclog=/var/log/xen/console/guest-xai-hvm.log
: > "$hvclog"

mark xl-create-start
if ! xl create "/etc/xai/$guest.cfg" "${xlargs[@]}" > /run/xai/xl-create.log 2>&1; then
    sed 's/^/xl| /' /run/xai/xl-create.log
    for f in /var/log/xen/qemu-dm-xai-hvm.log /var/log/xen/xl-xai-hvm.log; do
        [ -f "$f" ] && sed "s|^|$(basename "$f")| |" "$f"
    done
    fail "xl create"
fi
mark xl-create-done
sed 's/^/xl| /' /run/xai/xl-create.log

dmpid=$(pgrep -f 'qemu-system-x86_64.*-xen-domid' | head -n 1)
if [ -n "$dmpid" ]; then
    echo "xai: device model pid $dmpid: $(tr '\0' ' ' < "/proc/$dmpid/cmdline")"
fi

# The guest's consoles, forwarded line by line: hvc0 (its report) and
# the emulated serial port (kernel messages before hvc0 exists).
tail -n +1 -f "$hvclog" | sed -u 's/^/hvm| /' &
tail1=$!
tail -n +1 -f /run/xai/hvm-serial.log | sed -u 's/^/hvs| /' &
tail2=$!

# A page request from the host side (as a device's PRI message or the
# hypervisor would hand one in), once the guest's /init runs, which is
# after its IOMMU driver turned the PPR log on.
inject_ppr() {
    echo "xai: ppr-inject $(xai-qmp /run/xai/qmp.sock \
        xen-amd-iommu-v2-inject-ppr \
        '{"devid": 9, "pasid": 1, "tag": 5, "flags": 4, "address": 1048576}' \
        2>&1 | tr '\n' ' ')"
}

# Wait with shell builtins: the loop runs for minutes.
read -r now _ < /proc/uptime
deadline=$(( ${now%.*} + ${timeout%.*} ))
result=timeout
injected=no
while :; do
    read -r now _ < /proc/uptime
    [ "${now%.*}" -lt "$deadline" ] || break
    done_seen=no
    running=no
    while IFS= read -r line; do
        case "$line" in
        *"=== XAI modules ==="*) running=yes ;;
        *"=== XAI done ==="*) done_seen=yes; break ;;
        esac
    done < "$hvclog"
    if [ $running = yes ] && [ $injected = no ] && [ -S /run/xai/qmp.sock ] &&
       grep -q xen-amd-iommu-v2 "/etc/xai/$guest.cfg"; then
        inject_ppr
        injected=yes
    fi
    if [ $done_seen = yes ]; then
        result="done"
        break
    fi
    if [ -n "$dmpid" ] && ! kill -0 "$dmpid" 2> /dev/null; then
        result=device-model-died
        break
    fi
    state=$(xl list xai-hvm 2> /dev/null | awk 'NR == 2 {print $5}')
    case "$state" in
    *c*) result=crashed; break ;;
    *s*) result=shutdown; break ;;
    esac
    sleep 1
done
# on_poweroff=preserve keeps the device model for these questions.
sleep 1
mark "guest-$result"
if [ -S /run/xai/qmp.sock ]; then
    echo "xai: qmp $(xai-qmp /run/xai/qmp.sock query-xen-amd-iommu-v2 2>&1 | tr '\n' ' ')"
    # Saving the device model's state (what Xen's save and migration do)
    # must be refused while the hypervisor holds the IOMMU's state
    if grep -q '^guest_iommu = 1' "/etc/xai/$guest.cfg"; then
        echo "xai: save-state $(xai-qmp /run/xai/qmp.sock xen-save-devices-state '{"filename": "/run/xai/dm-state"}' 2>&1 | tr '\n' ' ')"
    fi
fi
kill "$tail1" "$tail2" 2> /dev/null
mark device-model-log
sed 's/^/dm| /' /var/log/xen/qemu-dm-xai-hvm.log 2> /dev/null
if [ "$result" != "done" ]; then
    xl list 2>&1 | sed 's/^/xl| /'
    xl dmesg 2>&1 | tail -n 40 | sed 's/^/xen| /'
fi
xl destroy xai-hvm > /dev/null 2>&1
mark dom0-done "$result"
finish
EOF
}

# --- the patched variant -------------------------------------------------

# The patched hypervisor: scripts/xen-build.sh's test build.
patched_hypervisor() {
    [ -f "$PATCHED_DIR/boot/xen" ] ||
        die "no $PATCHED_DIR/boot/xen: run scripts/xen-build.sh"
    put_file "$PATCHED_DIR/boot/xen" "$XEN_DIR/boot/xen"
}

# The stock dom0 tree with the patched tools laid over Debian's files.
patched_rootfs() {
    local overlay=$PATCHED_DIR/tools-overlay want
    [ -d "$overlay" ] ||
        die "no $overlay: run scripts/xen-build.sh (it builds the tools)"
    [ -f "$STOCK_DIR/stamps/rootfs" ] ||
        die "no stock dom0 tree: run scripts/xen-assets.sh first"
    want="$(cat "$STOCK_DIR/stamps/rootfs") overlay $(cd "$overlay" &&
        find . -type f -printf '%p %s %T@\n' | sort | md5sum | cut -c1-32)"
    if [ "$(cat "$XEN_DIR/stamps/rootfs" 2>/dev/null)" = "$want" ] &&
       [ -d "$ROOTFS/usr" ]; then
        return
    fi
    say "dom0 tree: the stock one with the patched Xen tools on top"
    rm -rf "$ROOTFS"
    cp -a "$STOCK_DIR/rootfs" "$ROOTFS"
    rm -rf "$ROOTFS/opt/xai" "$ROOTFS/etc/xai"
    patched_qemu_libs
    cp -a "$overlay/." "$ROOTFS/"
    echo "$want" > "$XEN_DIR/stamps/rootfs"
}

# This QEMU was configured on its own and may link a library the stock one
# does not (configure finds what the host has): install those packages too.
patched_qemu_libs() {
    local pkgs=() p
    for p in $(qemu_lib_packages); do
        chroot "$ROOTFS" dpkg -s "$p" > /dev/null 2>&1 || pkgs+=("$p")
    done
    [ ${#pkgs[@]} = 0 ] && return
    say "installing in the dom0 tree for this QEMU: ${pkgs[*]}"
    rootfs_install "${pkgs[@]}"
}

rootfs_image() {
    # Rebuild the image when anything in the tree is newer than it.
    if [ -f "$IMAGE" ] &&
       [ -z "$(find "$ROOTFS" -newer "$IMAGE" -print -quit 2>/dev/null)" ]; then
        return
    fi
    local kib
    kib=$(du -sk "$ROOTFS" | cut -f1)
    kib=$(( kib * 5 / 4 + 256 * 1024 ))
    say "making $IMAGE ($(( kib / 1024 )) MiB)"
    rm -f "$IMAGE.tmp"
    nice mke2fs -q -F -t ext4 -L xai-dom0 -d "$ROOTFS" "$IMAGE.tmp" "${kib}k" \
        > /dev/null
    mv "$IMAGE.tmp" "$IMAGE"
}

[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages and runs debootstrap"
[ -x "$QEMU_BIN" ] || die "no $QEMU_BIN: run scripts/build.sh"
mkdir -p "$XDL_DIR" "$XEN_DIR/boot" "$XEN_DIR/stamps"
install_tools
bash "$here/scripts/guest-assets.sh" "$DOM0_KERNEL" "$GUEST_KERNEL"
xver=$(xen_version)
[ -n "$xver" ] || die "no xen-hypervisor-$XEN_SERIES-amd64 in the archive"
dom0_kernel
dom0_initrd
if [ $VARIANT = patched ]; then
    patched_hypervisor
    patched_rootfs
else
    hypervisor "$xver"
    rootfs_base "$xver"
fi
rootfs_project
rootfs_image
say "xen assets ($VARIANT) ready in $XEN_DIR (xen $xver, dom0 $(basename "$(readlink -f "$OUT/guest/$DOM0_KERNEL")"), guest $(basename "$(readlink -f "$OUT/guest/$GUEST_KERNEL")"))"
