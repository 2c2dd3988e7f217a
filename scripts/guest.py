#!/usr/bin/env python3
"""Boot a Debian kernel in a q35 machine under TCG and report its IOMMU.

The guest is one of Debian's own kernels with a busybox initramfs (both
made by scripts/guest-assets.sh). Its /init (scripts/guest-init.sh)
prints what the AMD-Vi driver said, the IOMMU groups, the SHA-256 of a
virtio-blk disk whose DMA goes through the IOMMU (iommu_platform=on), and
the IOMMU's control register, then powers off.

    guest.py --kernel 6.1 --iommu amd-iommu
    guest.py --kernel 6.12 --iommu xen-amd-iommu-v2 --json

Exit status 0 only if the guest finished its report and read the disk
back intact; --expect-iommu also requires that Linux found and enabled
the IOMMU. Tests can import this file and call boot(), which returns the
same facts as --json prints.
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("XAI_OUT", os.path.join(ROOT, "_out"))
GUEST_DIR = os.path.join(OUT, "guest")
DEFAULT_QEMU = os.path.join(os.environ.get("XAI_BUILD_DIR",
                                           os.path.join(OUT, "build")),
                            "qemu-system-x86_64")

# The IOMMU goes first on the command line so that it exists before the
# PCI devices it translates for are realized.
IOMMUS = {
    "xen-amd-iommu-v2": ["-device", "xen-amd-iommu-v2,id=iommu0"],
    "amd-iommu": ["-device", "amd-iommu"],
    "none": [],
}

# MMIO Control Register (offset 18h), the single-bit fields.
CONTROL_BITS = [
    (0, "IommuEn"), (1, "HtTunEn"), (2, "EventLogEn"), (3, "EventIntEn"),
    (4, "ComWaitIntEn"), (8, "PassPW"), (9, "ResPassPW"), (10, "Coherent"),
    (11, "Isoc"), (12, "CmdBufEn"), (13, "PPRLogEn"), (14, "PPRIntEn"),
    (15, "PPREn"), (16, "GTEn"), (17, "GAEn"),
]
# The ones the device's IOMMUv2 story is about, shown as on/off always.
KEY_CONTROL_BITS = ["IommuEn", "CmdBufEn", "PPRLogEn", "PPREn", "GTEn"]

# Seconds a guest has to power off once its report is complete.
POWEROFF_GRACE = 15

MARKER = re.compile(r"^=== XAI (\S+) ===$")
TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s*")
IOMMU_LINE = re.compile(r"AMD-Vi|iommu", re.I)


class GuestError(Exception):
    """The guest could not be set up (missing assets, bad arguments)."""


def kernel_dir(kernel):
    """Folder of one kernel: a series (6.1, 6.12) or a release name."""
    path = os.path.join(GUEST_DIR, kernel)
    for f in ("vmlinuz", "initramfs.cpio.gz"):
        if not os.path.isfile(os.path.join(path, f)):
            raise GuestError("no %s for kernel %s in %s: run "
                             "scripts/guest-assets.sh" % (f, kernel, path))
    return path


def qemu_command(qemu, kdir, iommu, disk, serial_log, smp=1, mem="1G",
                 append="", verbose=False, extra_args=()):
    if iommu not in IOMMUS:
        raise GuestError("unknown --iommu %r (one of %s)" %
                         (iommu, ", ".join(IOMMUS)))
    # quiet keeps the serial console (slow under TCG) for the report; the
    # guest greps the full log from dmesg anyway. panic=-1 with -no-reboot
    # turns a guest that dies into a QEMU that exits, not a timeout.
    kargs = ["console=ttyS0", "iomem=relaxed", "panic=-1"]
    kargs += ["loglevel=7", "xai.verbose"] if verbose else ["quiet"]
    if append:
        kargs.append(append)
    return ([qemu, "-nodefaults", "-M", "q35", "-accel", "tcg",
             "-m", mem, "-smp", str(smp), "-display", "none",
             "-serial", "file:" + serial_log, "-no-reboot"]
            + IOMMUS[iommu]
            + ["-kernel", os.path.join(kdir, "vmlinuz"),
               "-initrd", os.path.join(kdir, "initramfs.cpio.gz"),
               "-append", " ".join(kargs),
               "-drive", "file=%s,if=none,id=d0,format=raw" % disk,
               # Modern-only, and DMA through the platform's IOMMU rather
               # than around it.
               "-device", "virtio-blk-pci,drive=d0,iommu_platform=on,"
               "disable-legacy=on"]
            + list(extra_args))


def parse_sections(text):
    """{section name: [lines]} from the guest's '=== XAI name ===' report.

    With the console left on (verbose), kernel messages land between the
    report's lines: they are told apart by their timestamp, except in the
    dmesg section, which is timestamped itself and filtered again instead.
    """
    sections, current = {}, None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = MARKER.match(line.strip())
        if m:
            current = m.group(1)
            sections.setdefault(current, [])
            continue
        if current is None or not line:
            continue
        if current == "dmesg":
            if not IOMMU_LINE.search(line):
                continue
        elif TIMESTAMP.match(line):
            continue
        sections[current].append(line)
    return sections


def decode_control(value):
    names = [n for bit, n in CONTROL_BITS if value >> bit & 1]
    inv = value >> 5 & 7
    if inv:
        names.append("InvTimeOut=%d" % inv)
    return names


def parse_control(lines):
    ctl = {"bdf": None, "base": None, "source": None, "control": None,
           "efr": None, "status": None, "bits": [], "key_bits": {},
           "error": None}
    for line in lines:
        if line.startswith("error:"):
            ctl["error"] = line[len("error:"):].strip()
            continue
        for word in line.split():
            key, sep, val = word.partition("=")
            if not sep or key not in ctl:
                continue
            if key in ("control", "efr", "status"):
                try:
                    ctl[key] = int(val, 16)
                except ValueError:
                    ctl["error"] = "%s: %s" % (key, line)
            else:
                ctl[key] = None if val == "none" else val
    if ctl["control"] is not None:
        ctl["bits"] = decode_control(ctl["control"])
        ctl["key_bits"] = {n: n in ctl["bits"] for n in KEY_CONTROL_BITS}
    return ctl


def collapse(lines):
    """Runs of one repeated line as 'line (xN)': a stuck driver repeats."""
    out = []
    for line in lines:
        if out and out[-1][0] == line:
            out[-1][1] += 1
        else:
            out.append([line, 1])
    return [ln if n == 1 else "%s (x%d)" % (ln, n) for ln, n in out]


def console_lines(text):
    """Kernel console lines of the serial log, timestamps dropped."""
    return [TIMESTAMP.sub("", raw.rstrip("\r"))
            for raw in text.splitlines() if TIMESTAMP.match(raw)]


def analyse(text, host_sum):
    """Facts from the serial log, as a dict (see boot())."""
    s = parse_sections(text)
    if "dmesg" in s:
        dmesg, source = [TIMESTAMP.sub("", ln) for ln in s["dmesg"]], "dmesg"
    else:
        # The guest never got to its report: what reached the console (the
        # kernel's errors and warnings, even with quiet) is all there is.
        dmesg = [ln for ln in console_lines(text) if IOMMU_LINE.search(ln)]
        source = "console"
    groups = {}
    for line in s.get("groups", []):
        parts = line.split()
        if len(parts) == 2:
            groups[parts[1]] = int(parts[0])
    pci = []
    for line in s.get("pci", []):
        m = re.match(r"(\S+) (\S+) class=(\S+) driver=(\S*)", line)
        if m:
            pci.append({"bdf": m.group(1), "id": m.group(2),
                        "class": m.group(3), "driver": m.group(4) or None})
    csum = s.get("checksum", [])
    sums = [ln.strip() for ln in csum
            if re.fullmatch(r"[0-9a-f]{64}", ln.strip())]
    guest_sum = sums[0] if sums else None
    io = None
    for line in s.get("io", []):
        m = re.fullmatch(r"rounds=(\d+) bad=(\d+)", line.strip())
        if m:
            io = {"rounds": int(m.group(1)), "bad": int(m.group(2))}
    uptime = s.get("uptime", [])
    try:
        uptime = float(uptime[0]) if uptime else None
    except ValueError:
        uptime = None
    return {
        "reached_done": "done" in s,
        "sections": sorted(s),
        "modules": s.get("modules", []),
        "amdvi": collapse([line for line in dmesg if "AMD-Vi" in line]),
        "amdvi_source": source,
        "iommu_dmesg": dmesg,
        # The driver took an IOMMU: 6.1 says "Found IOMMU", 6.12 no longer
        # does; both print the extended features of each one they set up.
        "found_iommu": any("Found IOMMU" in line or
                           "AMD-Vi: Extended features" in line
                           for line in dmesg),
        "iommuv2_loaded": any("AMD IOMMUv2 loaded" in line for line in dmesg),
        "io_page_faults": sum("IO_PAGE_FAULT" in line for line in dmesg),
        "pci": pci,
        "groups": groups,
        "checksum": {"host": host_sum, "guest": guest_sum,
                     "guest_report": csum,
                     "match": guest_sum is not None and guest_sum == host_sum},
        "control": parse_control(s.get("control", [])),
        # xai.io: whole-disk reads after the report, and how many matched
        "io": io,
        "guest_uptime": uptime,
        "console_tail": collapse(console_lines(text))[-15:]
        if "done" not in s else [],
    }


def process_cpu_seconds(pid):
    """CPU time (user + system) a process has used so far, or None.

    Less sensitive than wall time to other work on the host: a benchmark
    reports both."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of stat(5), in clock ticks
    ticks = int(fields[11]) + int(fields[12])
    return round(ticks / os.sysconf("SC_CLK_TCK"), 2)


QUERY_LINGER = 10      # seconds the guest waits for the device query


def query_device(qmp_path):
    """query-xen-amd-iommu-v2 over the guest's QMP socket, or None."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(qmp_path)
            f = sock.makefile("rwb", buffering=0)
            f.readline()
            for command in ("qmp_capabilities", "query-xen-amd-iommu-v2"):
                f.write(json.dumps({"execute": command}).encode() + b"\n")
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
            return reply.get("return")
    except (OSError, ValueError):
        return None


def boot(qemu=DEFAULT_QEMU, kernel="6.1", iommu="amd-iommu", timeout=180,
         smp=1, mem="1G", disk_mib=4, append="", extra_args=(),
         verbose=False, keep=False, stream=None, expect_iommu=False,
         during=None, query=False):
    """Boot one guest and return what it reported, as a dict.

    ok is True when the guest reached the end of its report and read the
    disk back intact (and, with expect_iommu, Linux found the IOMMU and
    the guest saw it enabled). On failure (or with keep=True) the run's folder,
    with the serial log and QEMU's stderr, is kept and named in 'workdir'.
    stream, a file, receives the serial console as it arrives.
    during, a function, runs in a thread once the guest starts its xai.io
    reads, given the path of a QMP socket; what it returns is in 'during'.
    query: ask the device for its state (query-xen-amd-iommu-v2) once the
    guest has reported, while it lingers; the answer is in 'device'.
    """
    kdir = kernel_dir(kernel)
    os.makedirs(os.path.join(GUEST_DIR, "runs"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="%s-%s-" % (kernel, iommu),
                            dir=os.path.join(GUEST_DIR, "runs"))
    disk = os.path.join(work, "disk.img")
    data = os.urandom(disk_mib << 20)
    with open(disk, "wb") as f:
        f.write(data)
    host_sum = hashlib.sha256(data).hexdigest()
    serial = os.path.join(work, "serial.log")
    open(serial, "wb").close()
    # A unix socket's path is at most 107 bytes: not under the checkout
    qmp_dir = tempfile.mkdtemp(prefix="xai-qmp-")
    qmp_path = os.path.join(qmp_dir, "qmp.sock")
    if during or query:
        extra_args = tuple(extra_args) + (
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path)
    if query:
        append = (append + " " if append else "") + \
            "xai.linger=%d" % QUERY_LINGER
    device = None
    linger_at = None        # the report's end when the guest lingers
    argv = qemu_command(qemu, kdir, iommu, disk, serial, smp=smp, mem=mem,
                        append=append, verbose=verbose,
                        extra_args=extra_args)
    outcome = {}
    helper = threading.Thread(
        target=lambda: outcome.update(result=during(qmp_path)), daemon=True)

    start = time.monotonic()
    done_at = None
    done_cpu = None
    timed_out = False
    powered_off = True
    with open(os.path.join(work, "qemu.stderr"), "wb") as err, \
            open(serial, "rb") as con:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=err, stderr=err)
        except OSError as e:
            # e.g. a QEMU being relinked right now
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(qmp_dir, ignore_errors=True)
            raise GuestError("cannot run %s: %s" % (qemu, e))
        seen = b""
        while True:
            status = proc.poll()
            chunk = con.read()
            if chunk:
                seen += chunk
                if stream:
                    stream.write(chunk.decode("utf-8", "replace"))
                    stream.flush()
                if during and helper.ident is None and \
                        b"=== XAI io ===" in seen:
                    helper.start()
                if query and device is None and \
                        b"=== XAI linger ===" in seen:
                    linger_at = time.monotonic()
                    done_cpu = process_cpu_seconds(proc.pid)
                    device = query_device(qmp_path) or {}
                if done_at is None and b"=== XAI done ===" in seen:
                    done_at = time.monotonic()
                    if linger_at is None:
                        done_cpu = process_cpu_seconds(proc.pid)
            if status is not None:
                break
            # A guest with DMA stuck in flight reports, then cannot power
            # off (shutting the disk down waits for it): the report is
            # what counts, so stop waiting for the power-off soon after.
            late = done_at is not None and \
                time.monotonic() - done_at > POWEROFF_GRACE
            if late or time.monotonic() - start > timeout:
                timed_out = not late
                powered_off = False
                proc.kill()
                proc.wait()
                break
            time.sleep(0.01)   # the boot time is read to 10 ms
        seen += con.read()
    total = time.monotonic() - start
    if during and helper.ident:
        helper.join(timeout=30)
    shutil.rmtree(qmp_dir, ignore_errors=True)

    with open(os.path.join(work, "qemu.stderr"), "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    result = {
        "kernel": kernel,
        "release": os.path.basename(os.path.realpath(kdir)),
        "iommu": iommu,
        "argv": argv,
        "boot_seconds": round((linger_at or done_at) - start, 2)
        if done_at else None,
        "boot_cpu_seconds": done_cpu,
        "total_seconds": round(total, 2),
        "timed_out": timed_out,
        "powered_off": powered_off,
        "qemu_status": proc.returncode if powered_off else None,
        "qemu_stderr": stderr.strip().splitlines()[-20:],
        "during": outcome.get("result"),
        "device": device or None,
    }
    result.update(analyse(seen.decode("utf-8", "replace"), host_sum))
    # A sanitizer report or a crash while the guest shuts down fails the
    # run as much as one before its report does.
    result["sanitizer_report"] = bool(re.search(
        r"ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer",
        stderr))
    # With -d guest_errors: what the device logged as the guest's mistakes
    result["device_guest_errors"] = [
        ln for ln in stderr.splitlines()
        if ln.startswith("xen-amd-iommu-v2")]
    result["ok"] = (result["reached_done"] and result["checksum"]["match"]
                    and not result["sanitizer_report"] and
                    (not powered_off or proc.returncode == 0))
    if expect_iommu:
        result["ok"] = (result["ok"] and result["found_iommu"] and
                        result["control"]["key_bits"].get("IommuEn", False))
    if result["ok"] and not keep:
        shutil.rmtree(work, ignore_errors=True)
        result["workdir"] = None
    else:
        result["workdir"] = work
    return result


def report(r, out=sys.stdout):
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("kernel %s (%s), iommu %s" % (r["kernel"], r["release"], r["iommu"]))
    p("$ " + shlex.join(r["argv"]))
    if r["boot_seconds"] is not None:
        p("boot: report done after %.1f s (guest uptime %s s), QEMU %s "
          "after %.1f s" % (r["boot_seconds"], r["guest_uptime"],
                            "exited" if r["powered_off"] else
                            "killed (the guest did not power off)",
                            r["total_seconds"]))
    else:
        p("boot: no complete report after %.1f s%s" % (
            r["total_seconds"], " (timed out)" if r["timed_out"] else ""))
    failed = [m for m in r["modules"] if not m.startswith("loaded")]
    if failed:
        p("modules: " + "; ".join(failed))
    p("\n-- AMD-Vi lines (%s) --" % r["amdvi_source"])
    for line in r["amdvi"] or ["(none)"]:
        p("  " + line)
    p("  Found IOMMU: %s; IOMMUv2 loaded: %s; IO_PAGE_FAULTs: %d" % (
        "yes" if r["found_iommu"] else "no",
        "yes" if r["iommuv2_loaded"] else "no", r["io_page_faults"]))
    p("\n-- IOMMU groups --")
    ids = {d["bdf"]: d for d in r["pci"]}
    if not r["groups"]:
        p("  (none)")
    for bdf, g in sorted(r["groups"].items(), key=lambda kv: (kv[1], kv[0])):
        d = ids.get(bdf, {})
        p("  group %-3d %s %s class %s" % (g, bdf, d.get("id", "?"),
                                           d.get("class", "?")))
    c = r["checksum"]
    p("\n-- disk (virtio-blk, iommu_platform=on) --")
    p("  host  sha256 %s" % c["host"])
    p("  guest sha256 %s" % (c["guest"] or " ".join(c["guest_report"])
                             or "(none)"))
    p("  %s" % ("match" if c["match"] else "MISMATCH"))
    ctl = r["control"]
    p("\n-- IOMMU control register --")
    if ctl["control"] is None:
        p("  not read: %s" % (ctl["error"] or "no report"))
    else:
        p("  %s base %s (from %s)" % (ctl["bdf"] or "-", ctl["base"],
                                      ctl["source"]))
        p("  control 0x%016x  %s" % (ctl["control"], " ".join(
            "%s=%d" % (n, v) for n, v in ctl["key_bits"].items())))
        p("          set: %s" % (" ".join(ctl["bits"]) or "(none)"))
        if ctl["efr"] is not None:
            p("  efr     0x%016x" % ctl["efr"])
        if ctl["status"] is not None:
            p("  status  0x%016x" % ctl["status"])
    if r["console_tail"]:
        p("\n-- last kernel console lines --")
        for line in r["console_tail"]:
            p("  " + line)
    if r["workdir"]:
        p("\nrun folder kept: %s" % r["workdir"])
    if r["qemu_status"] not in (0, None) or (not r["ok"] and
                                            r["qemu_stderr"]):
        p("\nQEMU exit status %s; stderr:" % r["qemu_status"])
        for line in r["qemu_stderr"]:
            p("  " + line)
    p("\n%s" % ("OK" if r["ok"] else "FAILED"))


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="extra arguments after -- go to QEMU as they are")
    ap.add_argument("--qemu", default=DEFAULT_QEMU)
    ap.add_argument("--kernel", default="6.1",
                    help="6.1, 6.12, or a release under _out/guest/")
    ap.add_argument("--iommu", default="amd-iommu", choices=sorted(IOMMUS))
    ap.add_argument("--timeout", type=float, default=180,
                    help="seconds (a healthy boot takes about 10)")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--mem", default="1G")
    ap.add_argument("--disk-mib", type=int, default=4)
    ap.add_argument("--append", default="",
                    help="more kernel arguments, e.g. xai.mmio=0x...")
    ap.add_argument("--expect-iommu", action="store_true",
                    help="also fail unless Linux found the IOMMU and "
                    "the guest saw IommuEn set")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--verbose", action="store_true",
                    help="kernel messages on the console, streamed here")
    ap.add_argument("--keep", action="store_true",
                    help="keep the run folder (serial log, disk)")
    ap.add_argument("qemu_args", nargs="*")
    a = ap.parse_args()
    try:
        r = boot(a.qemu, a.kernel, a.iommu, timeout=a.timeout, smp=a.smp,
                 mem=a.mem, disk_mib=a.disk_mib, append=a.append,
                 extra_args=a.qemu_args, verbose=a.verbose, keep=a.keep,
                 stream=sys.stderr if a.verbose else None,
                 expect_iommu=a.expect_iommu)
    except GuestError as e:
        print("guest.py: %s" % e, file=sys.stderr)
        return 2
    if a.json:
        json.dump(r, sys.stdout, indent=2)
        print()
    else:
        report(r)
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
