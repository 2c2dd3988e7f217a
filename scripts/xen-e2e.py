#!/usr/bin/env python3
"""Xen end to end: an HVM guest of Debian's Xen 4.17 drives xen-amd-iommu-v2.

Everything runs nested under TCG on the host: the project's QEMU (the
outer emulator, an EPYC with SVM) boots Debian's Xen 4.17 with a Debian
dom0; dom0's init (written by scripts/xen-assets.sh) starts Xen's daemons
and runs `xl create` for an HVM guest whose device model is the project's
QEMU again (device_model_override), carrying `-device xen-amd-iommu-v2`
and a virtio-blk disk behind it, with the IVRS given to hvmloader as an
extra ACPI table (acpi_firmware). The guest is Debian's Linux 6.12 with
the demo guest's /init (scripts/guest-init.sh); its serial console is
forwarded to dom0's, which is Xen's, which is the outer QEMU's serial
port, which this script reads.

Asserts, printing one PASS/FAIL line each:

- dom0 booted, Xen's daemons and `xl create` ran;
- the device model runs under accel=xen (machine xenfv) with the device;
- QEMU's device said, once, that the hypervisor offers no fast path and
  that QEMU's engine serves the IOMMU;
- the HVM guest's Linux found the IOMMU, with the device's EFR;
- it turned on the IOMMU, its command buffer and its logs (control
  register read back inside the guest);
- its COMPLETION_WAITs completed (the device ran them; no
  "Completion-Wait loop timed out"), and nothing faulted;
- the guest's virtio-blk data, read by DMA through the IOMMU, matches.

and prints the time each phase took. Exit status 1 on any failure.

    scripts/xen-assets.sh && scripts/xen-e2e.py
    scripts/xen-e2e.py --stream          # show the whole console live
    scripts/xen-e2e.py --guest plain     # the same guest, no IOMMU
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("XAI_OUT", os.path.join(ROOT, "_out"))
XEN_DIR = os.path.join(OUT, "xen")
DEFAULT_QEMU = guest.DEFAULT_QEMU

MARKER = re.compile(r"^=== XAI-E2E (\S+)(.*?) ([0-9.]+) ===$")
NO_FAST_PATH = re.compile(r"xen-amd-iommu-v2: the hypervisor offers no "
                          r".*QEMU's engine serves the IOMMU")
BAD_LINES = re.compile(r"Completion-Wait loop timed out|IO_PAGE_FAULT|"
                       r"Event logged|ILLEGAL_|Command buffer timeout|"
                       r"EVENT_LOG_OVERFLOW|PPR log overflow", re.I)
EFR_NAMES = [(0, "PreF"), (1, "PPR"), (2, "X2APIC"), (3, "NX"), (4, "GT"),
             (6, "IA"), (7, "GA"), (8, "HE"), (9, "PC")]
COMPLETION_WAIT = 1     # command opcode: index in QMP's "commands"

# Seconds after dom0 says it is done before the outer QEMU is stopped
# (Xen powers the machine off by itself most of the time).
POWEROFF_GRACE = 20


def outer_command(qemu, console, guest_kind, guest_timeout, verbose,
                  single_thread, pin, xen_append="", dom0_append=""):
    boot = os.path.join(XEN_DIR, "boot")
    xen_args = ["dom0_mem=768M,max:768M", "console=com1",
                "com1=115200,8n1",
                # Xen's idle loop takes a #GP on TCG's MWAIT otherwise.
                "cpuidle=0"]
    if verbose:
        xen_args += ["loglvl=all", "guest_loglvl=all"]
    if pin:
        # dom0 on CPU 0, the HVM guest on CPU 1: sharing a CPU, the two
        # corrupt dom0's processes (see docs/system/devices/xen-e2e.rst).
        xen_args += ["dom0_max_vcpus=1", "dom0_vcpus_pin"]
    xen_args += xen_append.split()
    dom0_args = ["console=hvc0", "xai.timeout=%d" % guest_timeout,
                 "xai.guest=%s" % guest_kind]
    if pin:
        dom0_args.append("xai.guest_cpus=1")
    if not verbose:
        dom0_args.append("quiet")
    dom0_args += dom0_append.split()
    accel = "tcg,thread=single" if single_thread else "tcg"
    # Multiboot modules: the dom0 kernel with its command line, then its
    # initramfs; a comma inside a module's command line is doubled.
    modules = "%s %s,%s" % (os.path.join(boot, "vmlinuz"),
                            " ".join(dom0_args).replace(",", ",,"),
                            os.path.join(boot, "dom0-initrd.gz"))
    return [qemu, "-nodefaults", "-M", "q35", "-accel", accel,
            # -monitor: Xen would use MWAIT, which TCG does not offer.
            "-cpu", "EPYC,+svm,-monitor", "-smp", "2", "-m", "3G",
            "-display", "none", "-no-reboot",
            "-serial", "file:" + console,
            "-kernel", os.path.join(boot, "xen"),
            "-append", " ".join(xen_args),
            "-initrd", modules,
            # The dom0 image stays as built: writes go to a temporary
            # overlay.
            "-drive", "file=%s,if=none,id=root,format=raw,snapshot=on" %
            os.path.join(XEN_DIR, "dom0.img"),
            "-device", "virtio-blk-pci,drive=root"]


def check_assets():
    need = [os.path.join(XEN_DIR, p) for p in
            ("boot/xen", "boot/vmlinuz", "boot/dom0-initrd.gz", "dom0.img")]
    missing = [p for p in need if not os.path.isfile(p)]
    if missing:
        sys.exit("missing %s: run scripts/xen-assets.sh" %
                 ", ".join(missing))


def run(argv, console, timeout, stream):
    """Run the outer QEMU until it exits, dom0 is done or time is up.

    Returns the console text, the host second at which each of its lines
    arrived, the run's length, and whether it was cut short.
    """
    start = time.monotonic()
    seen_at = []          # host seconds at which each console line arrived
    text = b""
    done_at = None
    timed_out = False
    open(console, "wb").close()
    with open(console + ".stderr", "wb") as err, open(console, "rb") as con:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err,
                                stderr=err)
        partial = b""
        while True:
            status = proc.poll()
            chunk = con.read()
            now = time.monotonic() - start
            if chunk:
                text += chunk
                partial += chunk
                *lines, partial = partial.split(b"\n")
                for raw in lines:
                    seen_at.append(now)
                    line = raw.decode("utf-8", "replace").rstrip("\r")
                    if stream(line):
                        print("%6.1f %s" % (now, line), flush=True)
                    if done_at is None and \
                            line.startswith("=== XAI-E2E dom0-done"):
                        done_at = now
            if status is not None:
                break
            if done_at is not None and now - done_at > POWEROFF_GRACE:
                proc.kill()
                proc.wait()
                break
            if now > timeout:
                timed_out = True
                proc.kill()
                proc.wait()
                break
            time.sleep(0.2)
        rest = con.read()
        if rest:
            text += rest
            seen_at += [time.monotonic() - start] * rest.count(b"\n")
    return (text.decode("utf-8", "replace"), seen_at,
            time.monotonic() - start, timed_out)


def analyse(text, seen_at):
    """Facts from the outer serial console (Xen's and dom0's console)."""
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    facts = {"markers": {}, "hvm": [], "hvs": [], "dm": [], "qmp": None,
             "dm_cmdline": None, "disk_sum": None, "xl": [],
             "ppr_inject": None,
             "console_tail": []}
    first_report_at = None
    report_done_at = None
    kernel_start_at = None
    for i, line in enumerate(lines):
        at = seen_at[i] if i < len(seen_at) else None
        m = MARKER.match(line)
        if m:
            facts["markers"].setdefault(m.group(1), {
                "host": at, "dom0": float(m.group(3)),
                "extra": m.group(2).strip()})
            continue
        if line.startswith("hvm| "):
            body = line[len("hvm| "):]
            facts["hvm"].append(body)
            if first_report_at is None and body.startswith("=== XAI "):
                first_report_at = at
            if body.strip() == "=== XAI done ===":
                report_done_at = at
        elif line.startswith("hvs| "):
            body = line[len("hvs| "):]
            facts["hvs"].append(body)
            # A kernel message on the serial port (they come as they are
            # printed, while the report comes late), less its timestamp:
            # when the guest's kernel started. With "quiet" there are
            # only warnings, the IOMMU's among them.
            ts = re.match(r"\[\s*(\d+\.\d+)\]", body)
            if ts and first_report_at is None and at is not None:
                start = at - float(ts.group(1))
                if kernel_start_at is None or start < kernel_start_at:
                    kernel_start_at = start
        elif line.startswith("dm| "):
            facts["dm"].append(line[len("dm| "):])
        elif line.startswith("xl| "):
            facts["xl"].append(line[len("xl| "):])
        elif line.startswith("xai: qmp "):
            try:
                facts["qmp"] = json.loads(line[len("xai: qmp "):])
            except ValueError:
                facts["qmp"] = {"error": line}
        elif line.startswith("xai: ppr-inject "):
            try:
                facts["ppr_inject"] = json.loads(line[len("xai: ppr-inject "):])
            except ValueError:
                facts["ppr_inject"] = {"error": line}
        elif line.startswith("xai: device model pid "):
            facts["dm_cmdline"] = line.split(": ", 2)[2]
        elif line.startswith("xai: disk sha256 "):
            facts["disk_sum"] = line.split()[-1]
    facts["first_report_at"] = first_report_at
    facts["kernel_start_at"] = kernel_start_at
    facts["report_done_at"] = report_done_at
    facts["guest"] = guest.analyse("\n".join(facts["hvm"]),
                                   facts["disk_sum"])
    facts["console_tail"] = [ln for ln in lines if ln.strip()][-25:]
    return facts


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what, detail=""):
        print("%s: xen: %s%s" % ("PASS" if ok else "FAIL", what,
                                 "" if ok or not detail else
                                 " (%s)" % detail))
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def phase_times(f, total):
    """[(phase, seconds)] from the markers' host arrival times."""
    mk = f["markers"]

    def at(name):
        return mk[name]["host"] if name in mk else None

    def span(a, b):
        return None if a is None or b is None else b - a

    return [
        ("Xen + dom0 kernel boot (to dom0's init)",
         at("dom0-userspace")),
        ("Xen's daemons (xenstored, xen-init-dom0, xenconsoled)",
         span(at("dom0-userspace"), at("xen-tools-up"))),
        ("xl create (domain build, device model start)",
         span(at("xl-create-start"), at("xl-create-done"))),
        ("HVM firmware (hvmloader, SeaBIOS, kernel load by fw_cfg)",
         span(at("xl-create-done"), f["kernel_start_at"])),
        ("HVM guest to userspace (its /init's first report)",
         span(at("xl-create-done"), f["first_report_at"])),
        ("HVM guest report complete",
         span(at("xl-create-done"), f["report_done_at"])),
        ("whole run (outer QEMU start to exit)", total),
    ]


def assert_iommu(c, f, guest_kind):
    mk = f["markers"]
    g = f["guest"]
    c.check("dom0-userspace" in mk, "Xen booted dom0 to its init")
    c.check("xen-tools-up" in mk,
            "xenstored, xen-init-dom0 and xenconsoled started",
            mk.get("dom0-failed", {}).get("extra", "no marker"))
    c.check("xl-create-done" in mk, "xl create started the HVM guest",
            "; ".join(f["xl"][-3:]) or "no marker")
    cmd = f["dm_cmdline"] or ""
    c.check("-machine xenfv" in cmd and "-xen-domid" in cmd,
            "the device model is our QEMU under accel=xen (xenfv)",
            cmd[:120] or "no device model process")
    want_dev = guest_kind.startswith("iommu")
    want_disk = guest_kind != "iommu"
    if want_dev:
        c.check("-device xen-amd-iommu-v2" in cmd,
                "the device model carries -device xen-amd-iommu-v2")
        said = [ln for ln in f["dm"] if NO_FAST_PATH.search(ln)]
        c.check(len(said) == 1,
                "QEMU's device says once: no fast path, QEMU's engine "
                "serves the IOMMU",
                "said %d times" % len(said))
    ended = [m[len("guest-"):] for m in mk if m.startswith("guest-")]
    c.check(g["reached_done"], "the HVM guest ran its report",
            "guest %s; serial: %s" % (" ".join(ended) or "not started",
                                      "; ".join(f["hvs"][-3:])))
    if want_disk:
        c.check(g["checksum"]["match"],
                "virtio-blk data the guest read%s equals dom0's file" %
                (" through the IOMMU" if want_dev else ""),
                "%s vs %s" % (g["checksum"]["guest"],
                              g["checksum"]["host"]))
        crash = [ln for ln in f["dm"] if "Assertion" in ln or
                 "Aborted" in ln or "Segmentation" in ln]
        c.check(not crash, "the device model did not crash",
                "; ".join(crash))
    if not want_dev:
        return
    q = None
    if isinstance(f["qmp"], dict) and f["qmp"].get("return"):
        q = f["qmp"]["return"][0]
    c.check(q is not None, "dom0 asked the device model over QMP "
            "(query-xen-amd-iommu-v2)", str(f["qmp"])[:200])
    c.check(g["found_iommu"], "the guest's Linux found the IOMMU",
            "; ".join(g["amdvi"][:3]) or "no AMD-Vi line")
    feat = [ln for ln in g["iommu_dmesg"] if "Extended features" in ln]
    m = re.search(r"Extended features \((0x[0-9a-f]+)[^)]*\):(.*)",
                  feat[0]) if feat else None
    ctl = g["control"]
    # The EFR as QEMU's device holds it, else as the guest read it.
    efr = q["efr"] if q else ctl["efr"]
    want = [n for bit, n in EFR_NAMES if efr is not None and efr >> bit & 1]
    c.check(m is not None and efr is not None and
            int(m.group(1), 16) == efr and m.group(2).split() == want and
            ctl["efr"] == efr,
            "its Extended features line is the device's EFR (%s: %s)" %
            (hex(efr) if efr is not None else "?", " ".join(want)),
            "%s; guest read efr=%s" % (feat[0] if feat else "no such line",
                                       hex(ctl["efr"]) if ctl["efr"]
                                       is not None else None))
    bits = ctl["bits"]
    for name in ("IommuEn", "CmdBufEn", "EventLogEn", "PPRLogEn"):
        c.check(name in bits,
                "the guest turned on %s (control register read back)" % name,
                "control=%s" % (hex(ctl["control"])
                                if ctl["control"] is not None
                                else ctl["error"]))
    waits = q["commands"][COMPLETION_WAIT] if q else 0
    c.check(waits > 0, "the device ran the guest's COMPLETION_WAITs "
            "(%d)" % waits, "QMP: %s" % (f["qmp"] or "no answer"))
    # dom0's page request: devid 0009 (00:01.1), PASID 1, tag 5
    inj = f["ppr_inject"]
    c.check(isinstance(inj, dict) and "return" in inj and q is not None and
            q["ppr-requests"] >= 1 and q["interrupts"] >= 1,
            "a page request injected from dom0 went into the guest's PPR "
            "log and raised the IOMMU's MSI (via xendevicemodel_inject_msi)",
            "inject: %s; device: %s" % (
                inj, q and {k: q[k] for k in ("ppr-requests", "interrupts",
                                              "log-drops")}))
    done = q.get("last-ppr-completion") if q else None
    c.check(done is not None and done["devid"] == 9 and done["tag"] == 5,
            "the guest's Linux took the interrupt, read the PPR log and "
            "answered (COMPLETE_PPR_REQUEST devid 0009 tag 5%s)" % (
                ", status %d" % done["status"] if done else ""),
            "last completion: %s" % done)
    bad = [ln for ln in g["iommu_dmesg"] if BAD_LINES.search(ln)]
    c.check(g["reached_done"] and not bad and
            not any("timed out" in ln for ln in f["hvs"]),
            "no Completion-Wait timeout, fault or event in the guest's log",
            "; ".join(bad[:3]) or "no report")
    if q:
        print("info: xen: device: control 0x%x, %d commands (%d "
              "COMPLETION_WAIT), %d events, %d interrupts, MSI %s" % (
                  q["control"], sum(q["commands"]), waits, q["events"],
                  q["interrupts"],
                  "0x%x/0x%x" % (q["msi-address"], q["msi-data"])
                  if q["msi-enabled"] else "off"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", default=DEFAULT_QEMU,
                    help="the outer emulator (default: the project's)")
    ap.add_argument("--guest", choices=["iommu", "iommu-disk", "plain"],
                    default="iommu",
                    help="HVM guest with the device (default), with the "
                    "device and a virtio-blk disk behind it, or with the "
                    "disk only")
    ap.add_argument("--timeout", type=int, default=330,
                    help="seconds for the whole run (default 330)")
    ap.add_argument("--guest-timeout", type=int, default=200,
                    help="seconds dom0 waits for the guest's report")
    ap.add_argument("--stream", action="store_true",
                    help="print the whole console as it arrives")
    ap.add_argument("--verbose", action="store_true",
                    help="Xen and dom0 kernel messages at full level")
    ap.add_argument("--single-thread", action="store_true",
                    help="one TCG thread for both vCPUs (thread=single)")
    ap.add_argument("--no-pin", action="store_true",
                    help="let dom0 and the guest share both CPUs")
    ap.add_argument("--xen-append", default="",
                    help="more Xen command line options")
    ap.add_argument("--dom0-append", default="",
                    help="more dom0 kernel command line options (xai.* "
                    "ones are read by dom0's init)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the run's folder (kept anyway on failure)")
    a = ap.parse_args()
    check_assets()

    os.makedirs(os.path.join(XEN_DIR, "runs"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="e2e-%s-" % a.guest,
                            dir=os.path.join(XEN_DIR, "runs"))
    console = os.path.join(work, "console.log")
    # A private copy: the build may relink the binary during the run.
    qemu = os.path.join(work, "qemu-system-x86_64")
    shutil.copy2(a.qemu, qemu)
    argv = outer_command(qemu, console, a.guest, a.guest_timeout,
                         a.verbose, a.single_thread, not a.no_pin,
                         a.xen_append,
                         a.dom0_append)
    print("$ " + shlex.join(argv), flush=True)

    def stream(line):
        if a.stream:
            return True
        return line.startswith(("=== XAI-E2E", "hvm| ", "hvs| ", "dm| ",
                                "xl| ", "(XEN) ***", "(XEN) Panic"))

    text, seen_at, total, timed_out = run(argv, console, a.timeout, stream)
    f = analyse(text, seen_at)
    print()
    c = Checks()
    c.check(not timed_out, "the run finished within %d s" % a.timeout,
            "killed after %.0f s" % total)
    assert_iommu(c, f, a.guest)

    print("\nphases (host wall clock, 2 vCPUs of TCG):")
    for name, secs in phase_times(f, total):
        print("  %-58s %s" % (name, "%6.1f s" % secs if secs is not None
                              else "     -"))
    if f["guest"]["guest_uptime"] is not None:
        print("  %-58s %6.1f s" % ("(the HVM guest's clock at its report)",
                                   f["guest"]["guest_uptime"]))
    print("\nguest: AMD-Vi lines")
    for line in f["guest"]["amdvi"] or ["(none)"]:
        print("  " + line)
    ctl = f["guest"]["control"]
    if ctl["control"] is not None:
        print("guest: control register 0x%x: %s" % (
            ctl["control"], " ".join(ctl["bits"])))
    if c.failed:
        print("\nconsole tail:")
        for line in f["console_tail"]:
            print("  " + line)
    keep = a.keep or c.failed
    os.unlink(qemu)
    if keep:
        print("info: xen: run kept in %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
