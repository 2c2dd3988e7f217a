#!/usr/bin/env python3
"""Demo-guest boot time: no IOMMU vs amd-iommu vs xen-amd-iommu-v2.

Debian's kernel boots in q35 under TCG, reads its whole virtio-blk disk
(iommu_platform=on whenever an IOMMU is present) and powers off; the time
is from QEMU's start to the guest's finished report. The three setups
alternate, several runs each, in the same QEMU binary; medians and the
ratios to no IOMMU are printed, for wall time and for the CPU time QEMU
used (user + system, which other load on the host disturbs less).
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
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--disk-mib", type=int, default=4,
                    help="disk read through the IOMMU (the demo's: 4)")
    a = ap.parse_args()
    times = {s: [] for s in SETUPS}
    cpu = {s: [] for s in SETUPS}
    for run in range(a.runs):
        for setup in SETUPS:
            r = guest.boot(qemu=a.qemu, kernel=a.kernel, iommu=setup,
                           disk_mib=a.disk_mib, timeout=300)
            if not r["ok"]:
                raise SystemExit("%s boot failed; see %s" %
                                 (setup, r["workdir"]))
            times[setup].append(r["boot_seconds"])
            cpu[setup].append(r["boot_cpu_seconds"])
            print("run %d %-17s %6.2f s wall %6.2f s CPU" %
                  (run + 1, setup, r["boot_seconds"], r["boot_cpu_seconds"]))
    print("medians over %d runs (%s, %d MiB read through the IOMMU), "
          "QEMU's start to the guest's report:" %
          (a.runs, a.kernel, a.disk_mib))
    base, base_cpu = (statistics.median(times["none"]),
                      statistics.median(cpu["none"]))
    for setup in SETUPS:
        m, c = statistics.median(times[setup]), statistics.median(cpu[setup])
        print("  %-17s %6.2f s wall %5.3fx   %6.2f s CPU %5.3fx  "
              "(vs no IOMMU)" % (setup, m, m / base, c, c / base_cpu))

if __name__ == "__main__":
    main()
