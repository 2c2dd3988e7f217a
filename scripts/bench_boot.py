#!/usr/bin/env python3
"""Demo-guest boot time: no IOMMU vs amd-iommu vs xen-amd-iommu-v2.

Debian's kernel boots in q35 under TCG, reads its whole virtio-blk disk
(iommu_platform=on whenever an IOMMU is present) and powers off; the time
is from QEMU's start to the guest's finished report. The three setups
alternate, several runs each, in the same QEMU binary; medians and the
ratios to no IOMMU are printed.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402

SETUPS = ["none", "amd-iommu", "xen-amd-iommu-v2"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", default=guest.DEFAULT_QEMU)
    ap.add_argument("--kernel", default="6.12")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--disk-mib", type=int, default=64)
    a = ap.parse_args()
    times = {s: [] for s in SETUPS}
    for run in range(a.runs):
        for setup in SETUPS:
            r = guest.boot(qemu=a.qemu, kernel=a.kernel, iommu=setup,
                           disk_mib=a.disk_mib, timeout=300)
            if not r["ok"]:
                raise SystemExit("%s boot failed; see %s" %
                                 (setup, r["workdir"]))
            times[setup].append(r["boot_seconds"])
            print("run %d %-17s %6.2f s" % (run + 1, setup,
                                             r["boot_seconds"]))
    base = statistics.median(times["none"])
    print("medians over %d runs (%s, %d MiB read through the IOMMU):" %
          (a.runs, a.kernel, a.disk_mib))
    for setup in SETUPS:
        m = statistics.median(times[setup])
        print("  %-17s %6.2f s  %5.3fx no IOMMU" % (setup, m, m / base))


if __name__ == "__main__":
    main()
