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

With --patched (and --xen _out/xen-patched/boot/xen, the test build of
scripts/xen-build.sh), the hypervisor runs the device's fast path: the
QEMU-engine asserts give way to ones on Xen's console (the test build
reports each step of its guest IOMMU at loglvl=info, and injects a page
request guest_iommu_debug_ppr= milliseconds after the guest starts its PPR
log).

    scripts/xen-e2e.py --patched --xen _out/xen-patched/boot/xen
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
                  single_thread, pin, xen_append="", dom0_append="",
                  xen_image=None):
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
            "-kernel", xen_image or os.path.join(boot, "xen"),
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
             "ppr_inject": None, "save_state": None, "giommu": [],
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
        if " guest IOMMU" in line and line.startswith("(XEN) "):
            facts["giommu"].append(line[len("(XEN) "):])
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
        elif line.startswith("xai: save-state "):
            facts["save_state"] = line[len("xai: save-state "):]
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


# The patched hypervisor's test build (CONFIG_GUEST_IOMMU_DEBUG) on its
# console: see xen/drivers/passthrough/amd/iommu_guest.c in patches/xen/.
GI_DUMP = re.compile(r"commands: COMPLETION_WAIT (\d+) \(stores (\d+)\).*"
                     r"log entries: event (\d+) PPR (\d+)")
GI_CHAN = re.compile(r"channel port \d+ flags 0x[0-9a-f]+: (\d+) records "
                     r"queued, (\d+) dropped")
GI_MSIS = re.compile(r"MSIs: ComWait (\d+) event (\d+) PPR (\d+) lost (\d+)")
# (Linux leaves the PASID out of its answer when the request had GN=0.)
GI_CPPR = re.compile(r"COMPLETE_PPR_REQUEST devid 0009 pasid (?:0|0x1) "
                     r"tag 0x5 status (0x[0-9a-f]+|0)")


def assert_fast_path(c, f, q):
    """The hypervisor serves the device (patched Xen, --patched)."""
    gi = f["giommu"]

    def lines(pattern):
        return [ln for ln in gi if re.search(pattern, ln)]

    said = [ln for ln in f["dm"] if NO_FAST_PATH.search(ln)]
    info = lines(r"guest IOMMU: get_info from d0: features")
    c.check(info and not said and q is not None and q.get("engine") == "xen",
            "QEMU's probe found the hypervisor's fast path (get_info "
            "answered, QEMU's link is \"xen\")",
            "get_info: %s; QEMU said: %s; engine %s" % (
                info[:1], said[:1], q and q.get("engine")))
    base = lines(r"set_base 0x[0-9a-f]+ size 0x4000 efr")
    c.check(bool(base), "set_base reached Xen (window and EFR from QEMU)",
            "; ".join(gi[:3]) or "no guest IOMMU line from Xen")
    c.check(bool(lines(r"channel bound: port \d+ to d0")),
            "QEMU bound the PPR channel (event channel from Xen)")
    c.check(bool(lines(r"set_msi flags 0x1 vector")),
            "set_msi reached Xen with the guest's MSI enabled")
    c.check(q is not None and q["control"] == 0 and
            not any(q["commands"]) and q.get("register-accesses") == 0,
            "QEMU's engine saw no register access (Xen served the window)",
            q and "control %#x, commands %s, register accesses %s" % (
                q["control"], q["commands"], q.get("register-accesses")))
    for unit in ("command buffer", "event log", "PPR log"):
        c.check(bool(lines(unit + " running")),
                "the guest started Xen's %s" % unit)
    dumps = [GI_DUMP.search(ln) for ln in gi]
    dumps = [m for m in dumps if m]
    last = dumps[-1] if dumps else None
    c.check(last is not None and int(last.group(1)) > 0 and
            int(last.group(2)) > 0,
            "Xen ran the guest's COMPLETION_WAITs and stored their "
            "semaphores (%s)" % (last.group(0)[:60] if last else "-"),
            "no state dump on Xen's console")
    inj = lines(r"debug PPR devid 0009 pasid 0x1 tag 0x5: logged.*MSI sent")
    c.check(bool(inj), "a page request injected in Xen went into the "
            "guest's PPR log and raised its MSI (Xen's hvm_inject_msi)",
            "; ".join(lines(r"debug PPR")) or "no injection line")
    saved = f["save_state"] or ""
    why = [ln for ln in f["dm"] if "fast path holds the IOMMU's state" in ln]
    c.check("error" in saved and bool(why),
            "saving the device model's state (Xen's save and migration) is "
            "refused while Xen holds the IOMMU's",
            "QMP: %s; device model: %s" % (saved or "no answer", why[:1]))
    # dom0's page request over QMP: QEMU hands it to Xen (channel INJECT)
    qinj = f["ppr_inject"]
    c.check(isinstance(qinj, dict) and "return" in qinj and
            q is not None and q["ppr-requests"] == 0,
            "a page request injected over QMP went to Xen's PPR log "
            "through the channel's INJECT (Xen logged it; QEMU's engine "
            "logged nothing)",
            "QMP: %s; QEMU's engine: %s PPR entries" % (
                qinj, q and q["ppr-requests"]))
    cppr = [GI_CPPR.search(ln) for ln in gi]
    cppr = [m for m in cppr if m]
    c.check(bool(cppr), "the guest's Linux took the MSI, read the PPR log "
            "and answered (COMPLETE_PPR_REQUEST devid 0009 tag 5%s, "
            "run by Xen)" % (", status %s" % cppr[0].group(1) if cppr
                             else ""))
    chan = [GI_CHAN.search(ln) for ln in gi]
    chan = [m for m in chan if m]
    c.check(bool(chan) and last is not None and int(last.group(4)) > 0 and
            chan[-1].group(1) == "0" and chan[-1].group(2) == "0",
            "QEMU fetched the channel's records (the PPR record Xen queued "
            "is gone, none dropped)",
            chan[-1].group(0) if chan else "no channel line")
    # The guest's window over its RAM (xai.refuse): refused, said once
    moved = [ln for ln in f["hvm"] if ln.startswith("window=0x10000001 ")]
    back = [ln for ln in f["hvm"] if re.match(r"restored=0x[0-9a-f]*[13579bdf]$",
                                              ln)]
    refused = [ln for ln in f["dm"]
               if "guest_iommu_set_base: Device or resource busy" in ln]
    c.check(bool(moved) and moved[0].endswith("writes=20") and bool(back) and
            len(refused) == 1,
            "a window the guest put over its RAM: Xen refused it, QEMU said "
            "so once over 20 more config writes, and the guest put it back",
            "guest: %s %s; device model: %d lines %s" % (
                moved[:1] or "no refuse report", back[:1], len(refused),
                refused[:2]))
    msis = [GI_MSIS.search(ln) for ln in gi]
    msis = [m for m in msis if m]
    if msis:
        m = msis[-1]
        print("info: xen: hypervisor MSIs: ComWait %s, event %s, PPR %s, "
              "lost %s" % m.groups())
    for ln in gi:
        print("info: xen: " + ln)


def assert_qemu_engine(c, f, q, want_disk):
    """QEMU's engine serves the device (stock Xen)."""
    waits = q["commands"][COMPLETION_WAIT] if q else 0
    c.check(waits > 0, "the device ran the guest's COMPLETION_WAITs "
            "(%d)" % waits, "QMP: %s" % (f["qmp"] or "no answer"))
    if want_disk:
        # The guest's account (its log, the checksum) would be the same
        # with the disk left untranslated: the device's is not.
        c.check(q is not None and q["translations"] > 0,
                "the device translated the disk's DMA (%s page walks)" %
                (q["translations"] if q else "?"))
    c.check(q is not None and q["events"] == 0 and q["log-drops"] == 0 and
            q["illegal-commands"] == 0,
            "the device logged no event, lost no entry, refused no command",
            q and "events %d, drops %d, illegal %d" % (
                q["events"], q["log-drops"], q["illegal-commands"]))
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


def assert_iommu(c, f, guest_kind, patched=False):
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
    if not want_dev:
        c.check(cmd and "xen-amd-iommu-v2" not in cmd,
                "without the IOMMU in its config, the device model has no "
                "xen-amd-iommu-v2", cmd[:160] or "no device model process")
    if want_dev:
        c.check("-device xen-amd-iommu-v2" in cmd,
                "the device model carries -device xen-amd-iommu-v2")
        said = [ln for ln in f["dm"] if NO_FAST_PATH.search(ln)]
        if not patched:
            c.check(len(said) == 1,
                    "QEMU's device says once: no fast path, QEMU's engine "
                    "serves the IOMMU",
                    "said %d times" % len(said))
            errs = [ln for ln in f["dm"]
                    if ln.startswith("xen-amd-iommu-v2")]
            c.check(not errs, "the device logged no guest error "
                    "(-d guest_errors) while Linux drove it under Xen",
                    "; ".join(errs[:3]))
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
    if patched:
        assert_fast_path(c, f, q)
    else:
        assert_qemu_engine(c, f, q, want_disk)
    bad = [ln for ln in g["iommu_dmesg"] if BAD_LINES.search(ln)]
    c.check(g["reached_done"] and not bad and
            not any("timed out" in ln for ln in f["hvs"]),
            "no Completion-Wait timeout, fault or event in the guest's log",
            "; ".join(bad[:3]) or "no report")
    if q:
        print("info: xen: device: control 0x%x, %d commands (%d "
              "COMPLETION_WAIT), %d events, %d interrupts, MSI %s" % (
                  q["control"], sum(q["commands"]),
                  q["commands"][COMPLETION_WAIT], q["events"],
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
    ap.add_argument("--xen", metavar="PATH",
                    help="the hypervisor to boot (multiboot ELF) instead "
                    "of Debian's _out/xen/boot/xen")
    ap.add_argument("--patched", action="store_true",
                    help="the hypervisor runs the fast path (patched test "
                    "build): assert on its side instead of QEMU's engine")
    ap.add_argument("--ppr-delay-ms", type=int, default=4000,
                    help="--patched: Xen injects its test page request this "
                    "long after the guest starts its PPR log")
    ap.add_argument("--assets", metavar="DIR",
                    help="what scripts/xen-assets.sh built (default "
                    "_out/xen; --patched builds _out/xen-patched/e2e)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the run's folder (kept anyway on failure)")
    a = ap.parse_args()
    if a.assets:
        global XEN_DIR
        XEN_DIR = a.assets
    check_assets()

    os.makedirs(os.path.join(XEN_DIR, "runs"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="e2e-%s-" % a.guest,
                            dir=os.path.join(XEN_DIR, "runs"))
    console = os.path.join(work, "console.log")
    # A private copy: the build may relink the binary during the run.
    qemu = os.path.join(work, "qemu-system-x86_64")
    shutil.copy2(a.qemu, qemu)
    xen_append = a.xen_append
    if a.patched:
        xen_append += " guest_iommu_debug_ppr=%d" % a.ppr_delay_ms
        if not a.verbose:
            xen_append += " loglvl=info"
    argv = outer_command(qemu, console, a.guest, a.guest_timeout,
                         a.verbose, a.single_thread, not a.no_pin,
                         xen_append,
                         a.dom0_append, a.xen)
    print("$ " + shlex.join(argv), flush=True)

    def stream(line):
        if a.stream:
            return True
        return line.startswith(("=== XAI-E2E", "hvm| ", "hvs| ", "dm| ",
                                "xl| ", "(XEN) ***", "(XEN) Panic")) or \
            (a.patched and " guest IOMMU" in line)

    text, seen_at, total, timed_out = run(argv, console, a.timeout, stream)
    f = analyse(text, seen_at)
    print()
    c = Checks()
    c.check(not timed_out, "the run finished within %d s" % a.timeout,
            "killed after %.0f s" % total)
    assert_iommu(c, f, a.guest, a.patched)

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
