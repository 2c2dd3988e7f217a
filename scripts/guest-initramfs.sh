#!/usr/bin/env bash
# Build the demo guest's initramfs for one unpacked kernel:
#
#   scripts/guest-initramfs.sh _out/guest/<release>
#
# The image is Debian's busybox-static, the modules listed in
# <release>/modules.load, and scripts/guest-init.sh as /init. Rebuilt only
# when one of those (or this script) is newer than the image.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/common.sh"

dest=${1:?usage: guest-initramfs.sh _out/guest/<release>}
dest=$(cd "$dest" && pwd)
image=$dest/initramfs.cpio.gz
busybox=/bin/busybox
init=$here/scripts/guest-init.sh

# /bin/busybox may be the dynamic build (package busybox); only the static
# one runs in an initramfs with no libc.
dpkg -S "$busybox" 2>/dev/null | grep -q '^busybox-static:' ||
    die "$busybox is not from busybox-static: run scripts/guest-assets.sh"
[ -f "$dest/modules.load" ] ||
    die "$dest/modules.load missing: run scripts/guest-assets.sh"

up_to_date() {
    [ -f "$image" ] || return 1
    local f
    for f in "$busybox" "$init" "$0" "$dest/modules.load" \
             "$dest"/modules/*.ko; do
        [ -e "$f" ] || continue
        [ "$f" -nt "$image" ] && return 1
    done
    return 0
}
up_to_date && exit 0

say "building $image"
root=$(mktemp -d "$dest/initramfs-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,lib/modules}
cp "$busybox" "$root/bin/busybox"
cp "$init" "$root/init"
chmod 755 "$root/init"
cp "$dest/modules.load" "$root/lib/modules/load"
for ko in "$dest"/modules/*.ko; do
    [ -e "$ko" ] && cp "$ko" "$root/lib/modules/"
done
# The kernel writes to /dev/console before devtmpfs is mounted: give it one.
mknod -m 600 "$root/dev/console" c 5 1
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
     cpio --quiet -o -H newc -R 0:0) | gzip -9n > "$image.tmp"
mv "$image.tmp" "$image"
