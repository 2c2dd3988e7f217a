"""Minimal clients for QEMU's qtest and QMP sockets (standard library only).

Used by the benchmark and the demo: they drive a QEMU the way a qtest does,
without building C test programs.
"""

import base64
import json
import os
import socket
import subprocess
import tempfile
import time


class Qemu:
    """A QEMU process with a qtest socket and a QMP socket."""

    def __init__(self, binary, args, qtest=True):
        self.dir = tempfile.mkdtemp(prefix="xai-")
        qmp_path = os.path.join(self.dir, "qmp.sock")
        qt_path = os.path.join(self.dir, "qtest.sock")
        self._qmp_srv = self._listen(qmp_path)
        cmd = [binary, "-nodefaults", "-display", "none",
               "-chardev", "socket,id=qmp,path=" + qmp_path,
               "-mon", "chardev=qmp,mode=control"]
        if qtest:
            self._qt_srv = self._listen(qt_path)
            cmd += ["-qtest", "unix:" + qt_path, "-qtest-log", "/dev/null",
                    "-accel", "qtest"]
        self.proc = subprocess.Popen(cmd + list(args))
        if qtest:
            self.qt, _ = self._qt_srv.accept()
            self.qt_file = self.qt.makefile("rwb", buffering=0)
        self.qmp_sock, _ = self._qmp_srv.accept()
        self.qmp_file = self.qmp_sock.makefile("rwb", buffering=0)
        self.qmp_file.readline()                  # greeting
        self.qmp("qmp_capabilities")

    @staticmethod
    def _listen(path):
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        srv.settimeout(60)
        return srv

    def qmp(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.qmp_file.write(json.dumps(msg).encode() + b"\n")
        while True:
            rsp = json.loads(self.qmp_file.readline())
            if "event" in rsp:
                continue
            if "error" in rsp:
                raise RuntimeError("%s: %s" % (command, rsp["error"]))
            return rsp["return"]

    def hmp(self, line):
        return self.qmp("human-monitor-command", **{"command-line": line})

    def _qtest(self, line):
        self.qt_file.write(line.encode() + b"\n")
        while True:
            rsp = self.qt_file.readline().decode().strip()
            if rsp.startswith("IRQ"):
                continue
            if not rsp.startswith("OK"):
                raise RuntimeError("qtest %r: %r" % (line, rsp))
            return rsp

    def readq(self, addr):
        return int(self._qtest("readq 0x%x" % addr).split()[1], 16)

    def writeq(self, addr, val):
        self._qtest("writeq 0x%x 0x%x" % (addr, val))

    def readl(self, addr):
        return int(self._qtest("readl 0x%x" % addr).split()[1], 16)

    def writel(self, addr, val):
        self._qtest("writel 0x%x 0x%x" % (addr, val))

    def outl(self, port, val):
        self._qtest("outl 0x%x 0x%x" % (port, val))

    def inl(self, port):
        return int(self._qtest("inl 0x%x" % port).split()[1], 16)

    def write_bytes(self, addr, data):
        self._qtest("b64write 0x%x 0x%x %s" % (
            addr, len(data), base64.b64encode(data).decode()))

    def pci_cfg_writel(self, devfn, reg, val):
        self.outl(0xcf8, 0x80000000 | devfn << 8 | reg)
        self.outl(0xcfc, val)

    def pci_cfg_readl(self, devfn, reg):
        self.outl(0xcf8, 0x80000000 | devfn << 8 | reg)
        return self.inl(0xcfc)

    def quit(self):
        try:
            self.qmp("quit")
        except (OSError, RuntimeError, ValueError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def now():
    return time.perf_counter()
