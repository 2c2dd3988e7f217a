#!/bin/busybox sh
# /init of the demo guest's initramfs (busybox sh, not bash): report what
# the kernel made of the IOMMU, read a virtio-blk disk through it, and
# power off. scripts/guest.py parses the "=== XAI <name> ===" sections from
# the serial console; every section is printed even when its probe fails,
# so a missing section means the guest died before it.
#
# Kernel command line options read here:
#   xai.mmio=0x...   IOMMU register base to read, instead of finding it
#   xai.verbose      leave kernel console messages on during the report
#   xai.wait=S       how long to wait for modules and the disk (default 60)
#   xai.linger=S     stay up S seconds after the report, before "done"
#                    (a host that injects a page request once the report
#                    starts then still finds the guest's IOMMU on)
#   xai.refuse=N     last, move the IOMMU's register window over guest RAM
#                    (a hypervisor refuses that window), make N more
#                    config writes to the function, then put it back: the
#                    host's device model log must say the refusal once
#   xai.io=S         after the report, read the whole disk again and again
#                    for S seconds, past the page cache (a host that stops
#                    and resumes the machine then finds DMA in flight), and
#                    say how many rounds matched the first checksum

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

cmdline=$(cat /proc/cmdline)
opt() {     # value of key=value on the kernel command line
    for w in $cmdline; do
        case "$w" in "$1="*) echo "${w#*=}"; return 0 ;; esac
    done
    return 1
}
case " $cmdline " in
*" xai.verbose "*) ;;
# The report shares the serial line with the kernel's console: stop kernel
# messages from landing in the middle of a report line. dmesg keeps them.
*) echo 1 > /proc/sys/kernel/printk ;;
esac

section() { echo "=== XAI $1 ==="; }

pause() { sleep 0.1 2>/dev/null || sleep 1; }
now() { cut -d. -f1 /proc/uptime; }

# A DMA that never completes leaves the task that waits for it stuck for
# good (a lost virtio-blk request has no timeout): the probes that depend
# on DMA run in the background, and the report goes on without them after
# xai.wait seconds, so it still shows the IOMMU's side of the story.
wait_secs=$(opt xai.wait) || wait_secs=60
deadline=$(( $(now) + wait_secs ))
wait_file() {   # until $1 exists or the deadline passes
    while [ ! -e "$1" ] && [ "$(now)" -lt "$deadline" ]; do pause; done
    [ -e "$1" ]
}

load_modules() {
    while read -r m; do
        if out=$(insmod "/lib/modules/$m.ko" 2>&1); then
            echo "loaded $m"
        else
            echo "failed $m: $out"
        fi
    done < /lib/modules/load
}
( load_modules > /tmp/modules.out 2>&1; touch /tmp/modules.done ) &
wait_file /tmp/modules.done
# virtio-blk probes asynchronously; under TCG that can take seconds.
wait_file /dev/vda

section modules
cat /tmp/modules.out
if [ ! -e /tmp/modules.done ]; then
    while read -r m; do
        grep -qE " $m(:|\$)" /tmp/modules.out || break
    done < /lib/modules/load
    echo "error: insmod $m still running after ${wait_secs}s"
fi

section checksum
if [ -b /dev/vda ]; then
    ( sha256sum /dev/vda > /tmp/sum.out 2>&1; touch /tmp/sum.done ) &
    deadline=$(( $(now) + wait_secs ))
    if wait_file /tmp/sum.done && grep -q '/dev/vda' /tmp/sum.out; then
        cut -d' ' -f1 /tmp/sum.out
    elif [ -e /tmp/sum.done ]; then
        echo "error: $(cat /tmp/sum.out)"
    else
        echo "error: sha256sum /dev/vda still running after ${wait_secs}s"
    fi
else
    echo "error: no /dev/vda"
fi

section dmesg
dmesg | grep -iE 'AMD-Vi|iommu'

section pci
for d in /sys/bus/pci/devices/*; do
    [ -e "$d" ] || continue
    echo "${d##*/} $(cat "$d/vendor"):$(cat "$d/device") class=$(cat "$d/class")" \
         "driver=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)"
done

section groups
for d in /sys/kernel/iommu_groups/*/devices/*; do
    [ -e "$d" ] || continue
    g=${d%/devices/*}
    echo "${g##*/} ${d##*/}"
done

# Config space bytes and dwords of one PCI function, in decimal.
cfg_b() { od -An -tu1 -j "$2" -N1 "/sys/bus/pci/devices/$1/config" | tr -d ' '; }
cfg_l() { od -An -tu4 -j "$2" -N4 "/sys/bus/pci/devices/$1/config" | tr -d ' '; }

# Offset of the IOMMU (secure device, ID 0fh) capability, or nothing.
iommu_cap() {
    [ $(( $(cfg_b "$1" 6) & 0x10 )) != 0 ] || return 1
    p=$(( $(cfg_b "$1" 0x34) & 0xfc ))
    i=0
    while [ "$p" != 0 ] && [ $i -lt 48 ]; do
        [ "$(cfg_b "$1" $p)" = 15 ] && { echo $p; return 0; }
        p=$(( $(cfg_b "$1" $((p + 1))) & 0xfc ))
        i=$((i + 1))
    done
    return 1
}

section control
bdf=
base=
src=
if base=$(opt xai.mmio); then
    src=cmdline
else
    # The driver names the function it took; without a driver, any
    # function of class 0806h (IOMMU) will do.
    # "AMD-Vi: Found IOMMU at <bdf> cap .." (older kernels) or
    # "pci <bdf>: AMD-Vi: Found IOMMU cap .." (newer ones).
    bdf=$(dmesg | sed -n -e 's/.*AMD-Vi: Found IOMMU at \([0-9a-f:.]*\).*/\1/p' \
                         -e 's/.* \([0-9a-f]\{4\}:[0-9a-f:.]*\): AMD-Vi: Found IOMMU.*/\1/p' |
          head -n 1)
    if [ -z "$bdf" ]; then
        for d in /sys/bus/pci/devices/*; do
            case "$(cat "$d/class" 2>/dev/null)" in
            0x0806*) bdf=${d##*/}; break ;;
            esac
        done
    fi
    if [ -n "$bdf" ] && cap=$(iommu_cap "$bdf"); then
        # The capability's base address is where the IOMMU decodes (the
        # spec's place for it; our device mirrors its BAR there).
        lo=$(cfg_l "$bdf" $((cap + 4)))
        hi=$(cfg_l "$bdf" $((cap + 8)))
        base=$(printf '0x%x' $(( (hi << 32) | (lo & 0xffffc000) )))
        src="cap@$(printf '0x%x' "$cap")"
    fi
    if [ -n "$bdf" ] && { [ -z "$base" ] || [ "$base" = 0x0 ]; }; then
        base=$(head -n 1 "/sys/bus/pci/devices/$bdf/resource" | cut -d' ' -f1)
        base=$(printf '0x%x' $((base)))
        src=bar0
    fi
fi
if [ -n "$base" ] && [ "$base" != 0x0 ]; then
    echo "bdf=${bdf:-none} base=$base source=$src"
    # /dev/mem reaches driver-claimed MMIO only with iomem=relaxed.
    for r in control:0x18 efr:0x30 status:0x2020; do
        v=$(devmem "$(printf '0x%x' $((base + ${r#*:})))" 64 2>&1) ||
            v="error: $v"
        echo "${r%%:*}=$v"
    done
else
    echo "error: no IOMMU found (bdf=${bdf:-none})"
fi

section uptime
cut -d' ' -f1 /proc/uptime

if io_secs=$(opt xai.io); then
    section io
    first=$(cut -d' ' -f1 /tmp/sum.out 2>/dev/null)
    io_end=$(( $(now) + io_secs ))
    rounds=0
    bad=0
    while [ "$(now)" -lt "$io_end" ]; do
        echo 3 > /proc/sys/vm/drop_caches
        sum=$(dd if=/dev/vda bs=64k iflag=direct 2>/dev/null | sha256sum)
        if [ "${sum%% *}" = "$first" ]; then
            rounds=$((rounds + 1))
        else
            bad=$((bad + 1))
        fi
    done
    echo "rounds=$rounds bad=$bad"
fi

if linger=$(opt xai.linger); then
    section "linger"
    sleep "$linger"
fi

# 32-bit config space access to the IOMMU's function, little-endian
cfg_read32() {
    dd if="/sys/bus/pci/devices/$bdf/config" bs=4 skip=$(($1 / 4)) \
        count=1 2>/dev/null | hexdump -e '1/4 "%u\n"'
}
cfg_write32() {
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($2 & 255)) \
        $(($2 >> 8 & 255)) $(($2 >> 16 & 255)) $(($2 >> 24 & 255)))" |
        dd of="/sys/bus/pci/devices/$bdf/config" bs=4 seek=$(($1 / 4)) \
            count=1 conv=notrunc 2>/dev/null
}

if writes=$(opt xai.refuse); then
    section refuse
    # The device's capability at 40h: base address low (Enable in bit 0)
    # and high
    lo=$(cfg_read32 0x44)
    hi=$(cfg_read32 0x48)
fi
if [ -n "${writes:-}" ] && { [ -z "$bdf" ] || [ -z "$lo" ] || [ -z "$hi" ]; }
then
    echo "error: no IOMMU function to move (bdf=${bdf:-none})"
elif [ -n "${writes:-}" ]; then
    cfg_write32 0x44 $((lo & ~1))
    cfg_write32 0x48 0
    cfg_write32 0x44 $((0x10000000 | 1))
    i=0
    while [ $i -lt "$writes" ]; do
        cfg_write32 0x4c 0      # the read-only range register
        i=$((i + 1))
    done
    echo "window=0x$(printf %x "$(cfg_read32 0x44)") writes=$i"
    cfg_write32 0x44 0x10000000
    cfg_write32 0x48 "$hi"
    cfg_write32 0x44 "$lo"
    echo "restored=0x$(printf %x "$(cfg_read32 0x44)")"
fi
section "done"
poweroff -f
