#!/usr/bin/env python3
"""Guest end-to-end test: Debian's Linux drives xen-amd-iommu-v2.

For each kernel (6.1 and 6.12 by default) a q35 guest under TCG boots
with the device and a virtio-blk disk behind it (iommu_platform=on), and
the test asserts what the guest and the device report:

- Linux found the IOMMU at the address the device decodes at;
- its "Extended features" line carries exactly the EFR the device has;
- on 6.1, "AMD IOMMUv2 loaded and initialized";
- no completion-wait timeout, no IO_PAGE_FAULT, no other event logged;
- the disk, read through translated DMA, matches the host file;
- the guest turned on what the device offers (IommuEn, PPRLogEn, PPREn,
  GTEn), read back from the control register inside the guest;
- the device itself (query-xen-amd-iommu-v2 while the guest lingers after
  its report) translated DMA, ran the guest's invalidations, and logged,
  lost and refused nothing.

6.1 boots three times more: on the pc machine (the IVRS on i440fx), with
the disk on an iothread, whose DMA is translated outside the main loop,
and again so while the guest reads the disk in a loop and QMP stops and
resumes the machine (each stop drains the iothread's requests in flight,
which complete through the IOMMU): every stop and cont must be answered,
the machine must run after, the device must have translated DMA across
the cycles, and every read that completes must return
the disk's data (see check_stop_cont() for why the guest need not finish).

Prints one PASS/FAIL line per assertion; exit status 1 on any failure.
"""

import argparse
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
from qtestlib import Qemu  # noqa: E402

EFR_NAMES = [(0, "PreF"), (1, "PPR"), (2, "X2APIC"), (3, "NX"), (4, "GT"),
             (6, "IA"), (7, "GA"), (8, "HE"), (9, "PC")]
BAD_LINES = re.compile(r"Completion-Wait loop timed out|IO_PAGE_FAULT|"
                       r"Event logged|ILLEGAL_|Command buffer timeout|"
                       r"EVENT_LOG_OVERFLOW|PPR log overflow", re.I)


def device_facts(qemu):
    """The device's own EFR and register base, asked over QMP."""
    q = Qemu(qemu, ["-M", "q35", "-device", "xen-amd-iommu-v2"])
    try:
        info = q.qmp("query-xen-amd-iommu-v2")[0]
    finally:
        q.quit()
    return info["efr"], info["base"]


class Checks:
    def __init__(self, label):
        self.label = label
        self.passed = self.failed = 0

    def check(self, ok, what, detail=""):
        print("%s: %s: %s%s" % ("PASS" if ok else "FAIL", self.label, what,
                                "" if ok or not detail else " (%s)" % detail))
        if ok:
            self.passed += 1
        else:
            self.failed += 1


IOTHREAD_ARGS = ("-object", "iothread,id=io0",
                 "-global", "virtio-blk-pci.iothread=io0")


# Opcodes of the commands Linux sends for DMA it maps through the IOMMU
INV_DEVTAB_ENTRY, INV_IOMMU_PAGES = 2, 3
STATUS_OVERFLOWS = 1 << 0 | 1 << 5      # event log, PPR log


def dma_count(info):
    """DMA translations the device served: walks and IOTLB hits."""
    return info["translations"] + info["iotlb-hits"]


def check_device_state(c, r):
    """What the device says it did, asked once the guest has reported.

    The guest's own account (its log, the disk's checksum) would be the
    same if Linux had left the disk untranslated (an identity domain, a
    device ID the IVRS missed): the device's counters are not.
    """
    info = r["device"]
    c.check(bool(info), "the device answered query-xen-amd-iommu-v2 while "
            "the guest lingered after its report")
    if not info:
        return
    d = info[0]
    c.check(d["translations"] > 0,
            "the device translated the guest's DMA (%d page walks, %d "
            "IOTLB hits)" % (d["translations"], d["iotlb-hits"]))
    c.check(d["commands"][INV_DEVTAB_ENTRY] > 0 and
            d["commands"][INV_IOMMU_PAGES] > 0,
            "Linux invalidated device table entries and pages on the device",
            "commands %s" % d["commands"])
    c.check(d["events"] == 0 and d["log-drops"] == 0 and
            d["illegal-commands"] == 0 and
            not d["status"] & STATUS_OVERFLOWS,
            "the device logged no event, lost no entry, refused no command",
            "events %d, drops %d, illegal %d, status 0x%x" %
            (d["events"], d["log-drops"], d["illegal-commands"],
             d["status"]))


def check_no_guest_errors(c, r):
    """The device logs what it takes for guest mistakes; Linux makes none."""
    errs = r["device_guest_errors"]
    c.check(not errs, "the device logged no guest error (-d guest_errors)",
            "; ".join(errs[:3]))


STOP_CYCLES = 30
IO_SECONDS = 40


def stop_and_resume(qmp_path):
    """STOP_CYCLES stops and conts over QMP; how many QEMU answered."""
    answered = 0
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(20)     # a drain that never ends: a deadlock
            sock.connect(qmp_path)
            f = sock.makefile("rwb", buffering=0)
            f.readline()

            def qmp(command):
                f.write(json.dumps({"execute": command}).encode() + b"\n")
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        return reply

            qmp("qmp_capabilities")
            before = qmp("query-xen-amd-iommu-v2").get("return")
            for _ in range(STOP_CYCLES):
                time.sleep(0.3)
                if "return" not in qmp("stop") or \
                        "return" not in qmp("cont"):
                    break
                answered += 1
            status = qmp("query-status").get("return", {}).get("status")
            after = qmp("query-xen-amd-iommu-v2").get("return")
    except (OSError, ValueError) as e:
        return {"answered": answered, "error": str(e) or type(e).__name__,
                "status": None, "dma": None}
    dma = (dma_count(after[0]) - dma_count(before[0])
           if before and after else None)
    return {"answered": answered, "error": None, "status": status,
            "dma": dma}


def check_stop_cont(qemu, kernel, label=""):
    """Stops and conts over QMP while the guest reads its iothread disk.

    What is asserted is what the IOMMU can break: QEMU answers every stop
    (each drains the iothread, whose requests complete through the IOMMU)
    and runs again after the last cont, and every read the guest finished
    returned the disk's data. Whether the guest then finishes is not: QEMU
    10.0 under TCG loses a virtio-blk request across such cycles in about
    one run of three, without any IOMMU too (measured), and the guest
    waits for it for good.
    """
    c = Checks("guest %s, disk on an iothread, stopped and resumed under "
               "I/O%s" % (kernel, " (%s)" % label if label else ""))
    r = guest.boot(qemu=qemu, kernel=kernel, iommu="xen-amd-iommu-v2",
                   timeout=600 if label else 240,
                   append="xai.io=%d" % IO_SECONDS,
                   extra_args=("-d", "guest_errors") + IOTHREAD_ARGS,
                   during=stop_and_resume)
    d = r["during"] or {"answered": 0, "error": "the guest never started "
                        "its reads", "status": None, "dma": None}
    c.check(d["answered"] == STOP_CYCLES and not d["error"],
            "QMP answered all %d stops and conts while the iothread's DMA "
            "went through the IOMMU" % STOP_CYCLES,
            "%d answered, %s" % (d["answered"], d["error"]))
    c.check(d["status"] == "running", "the machine runs after the last cont",
            "status %s" % d["status"])
    c.check(bool(d["dma"]), "the device translated DMA while the cycles "
            "ran (%s translations)" % d["dma"])
    io = r["io"]
    c.check(io is None or io["bad"] == 0,
            "every whole-disk read the guest finished matched the disk",
            "io report: %s" % io)
    check_no_guest_errors(c, r)
    print("info: the guest %s" % (
        "read the whole disk %d times and finished" % io["rounds"]
        if io and r["reached_done"] else
        "did not finish its reads (a virtio-blk request lost across a "
        "stop, as without an IOMMU)"))
    return c


def check_kernel(qemu, kernel, efr, base, machine="q35", label="",
                 iothread=False):
    c = Checks("guest %s%s%s%s" % (kernel, "" if machine == "q35"
                                   else " on " + machine,
                                   ", disk on an iothread" if iothread else "",
                                   " (%s)" % label if label else ""))
    # The device logs what it takes for guest mistakes; Linux makes none.
    extra = ("-d", "guest_errors")
    extra += () if machine == "q35" else ("-M", machine)
    r = guest.boot(qemu=qemu, kernel=kernel, iommu="xen-amd-iommu-v2",
                   timeout=600 if label else 240,
                   extra_args=extra + (IOTHREAD_ARGS if iothread else ()),
                   query=True)
    dmesg = r["iommu_dmesg"]
    c.check(r["reached_done"], "guest ran its report",
            "timed out" if r["timed_out"] else "; ".join(r["console_tail"]))
    c.check(r["checksum"]["match"],
            "virtio-blk data read through the IOMMU equals the host file",
            "%s vs %s" % (r["checksum"]["guest"], r["checksum"]["host"]))
    c.check(r["found_iommu"], "Linux found the IOMMU")
    c.check(r["control"]["base"] is not None and
            int(r["control"]["base"], 16) == base,
            "the IOMMU Linux uses sits at the device's base 0x%x" % base,
            "guest says %s" % r["control"]["base"])
    feat = [ln for ln in dmesg if "Extended features" in ln]
    m = re.search(r"Extended features \((0x[0-9a-f]+)[^)]*\):(.*)",
                  feat[0]) if feat else None
    want = [n for bit, n in EFR_NAMES if efr >> bit & 1]
    c.check(m is not None and int(m.group(1), 16) == efr and
            m.group(2).split() == want,
            "extended features line is exactly the EFR (0x%x: %s)" %
            (efr, " ".join(want)), feat[0] if feat else "no such line")
    if kernel == "6.1":
        c.check(r["iommuv2_loaded"], "AMD IOMMUv2 loaded and initialized")
    bad = [ln for ln in dmesg if BAD_LINES.search(ln)]
    c.check(not bad, "no completion timeout, fault or event in the log",
            "; ".join(bad[:3]))
    check_no_guest_errors(c, r)
    check_device_state(c, r)
    bits = r["control"]["key_bits"]
    for name in ("IommuEn", "PPRLogEn", "PPREn", "GTEn"):
        c.check(bits.get(name, False),
                "the guest turned on %s (control register read back)" % name,
                "control=%s" % (hex(r["control"]["control"])
                                if r["control"]["control"] is not None
                                else r["control"]["error"]))
    if r["boot_seconds"]:
        print("info: %s booted to its report in %.1f s" %
              (kernel, r["boot_seconds"]))
    if r["workdir"]:
        print("info: run kept in %s" % r["workdir"])
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", default=guest.DEFAULT_QEMU)
    ap.add_argument("--kernel", action="append",
                    help="kernel series (repeatable; default 6.1 and 6.12)")
    ap.add_argument("--label", default="",
                    help="name this QEMU in the check lines (e.g. "
                    "asan+ubsan for a sanitizer build, which also gets "
                    "more time)")
    a = ap.parse_args()
    efr, base = device_facts(a.qemu)
    passed = failed = 0
    runs = [(k, "q35", False) for k in a.kernel or ["6.1", "6.12"]]
    if not a.kernel:
        runs.append(("6.1", "pc", False))   # the IVRS on i440fx too
        runs.append(("6.1", "q35", True))   # translation off the BQL
    for kernel, machine, iothread in runs:
        c = check_kernel(a.qemu, kernel, efr, base, machine, a.label,
                         iothread)
        passed += c.passed
        failed += c.failed
    if not a.kernel:
        c = check_stop_cont(a.qemu, "6.1", a.label)     # ... while drained
        passed += c.passed
        failed += c.failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
