# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pieces of the benchmarks: result rows, the table, the peer's virtualenv, child resource use.

Benchmarks print numbers; they never assert on time (machines are noisy). Each row names the
peer measured in the same run and the ratio peer / ours (above 1 means we are faster or use less).
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
import zipfile

TESTS_DIR = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS_DIR), str(TESTS_DIR / "tools")]

from collection_tree import ensure_collection_tree  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, str(ensure_collection_tree()))  # the collection's own client, for in-process measurements

# The peer: community.proxmox 2.0.0, the current release. It ships in the ansible 14.5.0 wheel, which needs Python 3.12 to
# install but not to run the collection (requires_ansible >= 2.17): the wheel is downloaded without installing it, the
# collection unpacked next to a virtualenv with our ansible-core and the peer's own dependency proxmoxer.
PEER_VERSION = "2.0.0"
PEER_NAME = f"community.proxmox {PEER_VERSION}"
PEER_WHEEL = "ansible==14.5.0"
PEER_VENV = TESTS_DIR / "output" / f"peer-venv-{PEER_VERSION}"
PEER_COLLECTIONS = PEER_VENV / "collections"
PEER_REQUIREMENTS = ["ansible-core==2.19.14", "proxmoxer==2.3.0", "requests", "paramiko==4.0.0"]


@dataclasses.dataclass
class Row:
    """One measured quantity, ours next to the peer's."""

    benchmark: str
    metric: str
    ours: float | None
    peer: float | None
    peer_name: str
    unit: str
    target: str = ""
    lower_is_better: bool = True

    @property
    def ratio(self) -> str:
        """How many times better we are (peer/ours for lower-is-better quantities)."""
        if self.ours in (None, 0) or self.peer in (None, 0):
            return "-"
        value = self.peer / self.ours if self.lower_is_better else self.ours / self.peer  # type: ignore[operator]
        return f"{value:.1f}x"


def fmt(value: float | None, unit: str) -> str:
    """A number for the table."""
    if value is None:
        return "n/a"
    if unit in ("requests", "hosts", "count"):
        return f"{value:.0f}"
    if unit == "MB/s":
        return f"{value:.1f}"
    if unit == "MiB":
        return f"{value:.0f}"
    return f"{value:.3f}"


def print_table(rows: t.Sequence[Row]) -> None:
    """One aligned table for every benchmark."""
    header = ("benchmark", "metric", "ours", "peer", "peer measured", "ratio", "unit", "target")
    body = [(row.benchmark, row.metric, fmt(row.ours, row.unit), fmt(row.peer, row.unit), row.peer_name, row.ratio, row.unit, row.target)
            for row in rows]
    widths = [max(len(str(line[index])) for line in [header] + body) for index in range(len(header))]
    for index, line in enumerate([header] + body):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def median(values: t.Sequence[float]) -> float:
    """The median (benchmarks report medians, not means, against noise)."""
    return float(statistics.median(values))


def ensure_peer_venv() -> pathlib.Path | None:
    """The virtualenv with the peer (created on first use); None when it cannot be made."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    if stamp.exists():
        return python
    print(f"benchmarks: installing the peer ({PEER_NAME} from the {PEER_WHEEL} wheel, {', '.join(PEER_REQUIREMENTS)}) into {PEER_VENV} ...",
          file=sys.stderr, flush=True)
    downloads = PEER_VENV / "downloads"
    try:
        # stdout stays clean: run_all reads each benchmark's rows from it.
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True, stdout=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PEER_REQUIREMENTS],
                       check=True, timeout=1800, stdout=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps", "--python-version", "3.12",
                        "--only-binary=:all:", PEER_WHEEL, "-d", str(downloads)], check=True, timeout=1800, stdout=sys.stderr)
        _unpack_peer_collection(next(downloads.glob("ansible-*.whl")))
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, StopIteration, OSError, ValueError) as exc:
        print(f"benchmarks: the peer could not be installed ({exc}); its columns stay empty", file=sys.stderr)
        return None
    stamp.touch()
    return python


def _unpack_peer_collection(wheel: pathlib.Path) -> None:
    """ansible_collections/community/proxmox out of the wheel, checked to be the version we name."""
    prefix = "ansible_collections/community/proxmox/"
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith(prefix)]
        archive.extractall(PEER_COLLECTIONS, members)
    manifest = json.loads((PEER_COLLECTIONS / prefix / "MANIFEST.json").read_text())
    version = manifest["collection_info"]["version"]
    if version != PEER_VERSION:
        raise ValueError(f"{wheel.name} has community.proxmox {version}, not {PEER_VERSION}")


def with_peer(env: t.Mapping[str, str]) -> dict[str, str]:
    """An environment in which Ansible finds the peer's collection (and only that copy of it)."""
    result = dict(env)
    result.update({"ANSIBLE_COLLECTIONS_PATH": str(PEER_COLLECTIONS), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "0"})
    return result


@dataclasses.dataclass
class Measured:
    """A finished child process: exit code, output, wall time and peak memory."""

    rc: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mib: float


def measure(argv: t.Sequence[str], env: t.Mapping[str, str], cwd: pathlib.Path | None = None, timeout: float = 900) -> Measured:
    """Run a command; wall time and the peak resident memory of that process (from wait4's rusage)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdout=out, stderr=err)  # pylint: disable=consider-using-with
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)  # reap it ourselves: Popen.wait would drop the rusage
        finally:
            killer.cancel()
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(process.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"), seconds,
                        usage.ru_maxrss / 1024)
