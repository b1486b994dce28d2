# Copyright (c) 2026, pveops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""docker-stats-like numbers and lines for containers and nodes, without a shell.

Formatting follows GoDoxy's ``LXCStats``/``NodeStats``: IEC units with one decimal and a
trailing ``.0`` trimmed (plain ``B`` below 1024), CPU with one decimal, memory percent with
two (``0.00%`` when the limit is 0), uptime as ``XdYhZm`` (``Ns`` under a minute). Container
numbers come from ``/cluster/resources`` (pve-protocol.md §3.3; refreshed every 10 s) or a container's
``status/current`` (live), node numbers from ``/nodes/{node}/status`` (§3.4).
"""

from __future__ import annotations

import typing as t

IEC_PREFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
# pvestatd broadcasts the numbers /cluster/resources shows every `$updatetime = 10` s (pve-manager pvestatd.pm:885).
RESOURCES_REFRESH = 10.0
COUNTERS = ("net_in", "net_out", "block_read", "block_write")


def format_iec(value: float) -> str:
    """``0B``, ``1023B``, ``1KiB``, ``1.5GiB``, ``10GiB``."""
    number = max(0.0, float(value))
    if number < 1024:
        return f"{int(number)}B"
    exponent = 0
    while number >= 1024 and exponent < len(IEC_PREFIXES) - 1:
        number /= 1024
        exponent += 1
    text = f"{number:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return f"{text}{IEC_PREFIXES[exponent]}B"


def format_percent(part: float, whole: float) -> str:
    """Two decimals; ``0.00%`` when ``whole`` is 0."""
    if whole <= 0:
        return "0.00%"
    return f"{part / whole * 100:.2f}%"


def percent_of(part: float, whole: float) -> float:
    """The number behind :func:`format_percent`, rounded to two decimals."""
    return round(part / whole * 100, 2) if whole > 0 else 0.0


def format_uptime(seconds: int) -> str:
    """``45s``, ``5m``, ``3h5m``, ``2d3h5m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h{minutes}m"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m"


def _int(entry: t.Mapping[str, t.Any], key: str) -> int:
    return int(entry.get(key) or 0)


def container_sample(entry: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The numbers and the seed's line for one container resource entry."""
    cpu = float(entry.get("cpu") or 0.0) * 100
    used, limit = _int(entry, "mem"), _int(entry, "maxmem")
    net_in, net_out = _int(entry, "netin"), _int(entry, "netout")
    block_read, block_write = _int(entry, "diskread"), _int(entry, "diskwrite")
    sample: dict[str, t.Any] = {
        "status": str(entry.get("status") or "unknown"),
        "cpu_percent": round(cpu, 1),
        "mem_used": used,
        "mem_limit": limit,
        "mem_percent": percent_of(used, limit),
        "net_in": net_in,
        "net_out": net_out,
        "block_read": block_read,
        "block_write": block_write,
    }
    sample["line"] = (f"{sample['status']}|{cpu:.1f}%|{format_iec(used)}/{format_iec(limit)}|{format_percent(used, limit)}|"
                      f"{format_iec(net_in)}/{format_iec(net_out)}|{format_iec(block_read)}/{format_iec(block_write)}")
    return sample


def rates(samples: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, t.Any] | None:
    """Average CPU and bytes per second between the first and the last of ``samples`` (each with ``time``).

    A counter that went down (the container restarted in between) gives ``None`` for its rate.
    """
    if len(samples) < 2:
        return None
    first, last = samples[0], samples[-1]
    seconds = float(last["time"]) - float(first["time"])
    if seconds <= 0:
        return None
    result: dict[str, t.Any] = {
        "seconds": round(seconds, 3),
        "cpu_percent": round(sum(float(sample["cpu_percent"]) for sample in samples) / len(samples), 1),
    }
    for key in COUNTERS:
        delta = int(last[key]) - int(first[key])
        result[f"{key}_per_second"] = round(delta / seconds, 1) if delta >= 0 else None
    shown = {key: format_iec(result[f"{key}_per_second"]) + "/s" if result[f"{key}_per_second"] is not None else "?"
             for key in COUNTERS}
    result["line"] = (f"{last['status']}|{result['cpu_percent']:.1f}%|{shown['net_in']} in/{shown['net_out']} out|"
                      f"{shown['block_read']} read/{shown['block_write']} written")
    return result


def node_sample(status: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The seed's NodeStats strings plus the raw numbers, from ``/nodes/{node}/status``."""
    memory = status.get("memory") or {}
    rootfs = status.get("rootfs") or {}
    cpuinfo = status.get("cpuinfo") or {}
    loadavg = [str(value) for value in (status.get("loadavg") or [])]
    kversion = str(status.get("kversion") or "")
    if kversion.startswith("Linux "):
        kversion = kversion[len("Linux "):]
    cpu = float(status.get("cpu") or 0.0)
    mem_used, mem_total = int(memory.get("used") or 0), int(memory.get("total") or 0)
    fs_used, fs_total = int(rootfs.get("used") or 0), int(rootfs.get("total") or 0)
    uptime = int(status.get("uptime") or 0)
    padded = (loadavg + ["", "", ""])[:3]
    return {
        "kernel_version": kversion.split(" ", 1)[0],
        "pve_version": str(status.get("pveversion") or ""),
        "cpu_usage": f"{cpu * 100:.1f}%",
        "cpu_model": str(cpuinfo.get("model") or ""),
        "mem_usage": format_iec(mem_used),
        "mem_total": format_iec(mem_total),
        "mem_pct": format_percent(mem_used, mem_total),
        "rootfs_usage": format_iec(fs_used),
        "rootfs_total": format_iec(fs_total),
        "rootfs_pct": format_percent(fs_used, fs_total),
        "uptime": format_uptime(uptime),
        "load_avg_1m": padded[0],
        "load_avg_5m": padded[1],
        "load_avg_15m": padded[2],
        "raw": {
            "cpu": cpu,
            "cpus": int(cpuinfo.get("cpus") or 0),
            "mem_used": mem_used,
            "mem_total": mem_total,
            "rootfs_used": fs_used,
            "rootfs_total": fs_total,
            "uptime": uptime,
            "loadavg": [float(value) for value in loadavg if _is_number(value)],
        },
    }


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def table(rows: t.Sequence[t.Mapping[str, t.Any]]) -> list[str]:
    """A ``docker stats``-style table of container samples (each with ``vmid`` and ``name``)."""
    header = ("CT ID", "NAME", "STATUS", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O")
    body = []
    for row in rows:
        parts = str(row["line"]).split("|")
        body.append((str(row["vmid"]), str(row.get("name") or ""), parts[0], parts[1], parts[2].replace("/", " / "),
                     parts[3], parts[4].replace("/", " / "), parts[5].replace("/", " / ")))
    widths = [max(len(line[index]) for line in [header] + body) for index in range(len(header))]
    return ["   ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header] + body]
