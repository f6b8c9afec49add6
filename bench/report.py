"""bench/run.py's report: ratios, the markdown tables, memory, and the targets table.

Pure functions of the results (no processes, no sockets): the numbers in, text out.
Every target is always listed: met, MISSING, or not measured with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

# The tables a scenario's figures go into, and the server each one's ratios are to.
EMBEDDED = "embedded"
DAEMON = "daemon"
STATIC = "static"
TABLES = (EMBEDDED, DAEMON, STATIC)
TABLE_TITLES = {
    EMBEDDED: "the app in the processes that speak HTTP",
    DAEMON: "the app in processes behind a front end (daemon mode)",
    STATIC: "static files",
}
# The first of these in a scenario's figures is that table's reference.
BASELINES = {
    EMBEDDED: ("apache-mod_wsgi", "gunicorn-sync"),
    DAEMON: ("apache-mod_wsgi-daemon",),
    STATIC: ("apache-mod_wsgi", "apache-mod_wsgi-daemon"),
}

MET = "met"
MISSING = "MISSING"
NOT_MEASURED = "not measured"

# The targets of the benchmark issues: issue 15 (Performance II) for the
# hello-world ratios, the 1 MB POST and the static files; the first benchmark
# issue for the rest.
DAEMON_KEEPALIVE = 1.5
DAEMON_CLOSE = 1.2
EMBEDDED_KEEPALIVE = 1.3
EMBEDDED_CLOSE = 1.2
DAEMON_BIG = 1.0
DAEMON_POST = 1.2
STATIC_SMALL = 0.8
STATIC_LARGE = 1.0
OVER_GUNICORN = 2.0
MASTER_MB = 30.0
FRONT_END_MB = 40.0
DAEMON_BEYOND_APP_MB = 25.0
GROUPS_READY_S = 10.0
MASTER_IDLE_CPU = 1.0


class Record(Protocol):
    name: str
    title: str
    mode: str
    status: str
    budget: str
    launcher: str
    interpreter: dict[str, Any]
    not_run: dict[str, str]
    memory: dict[str, list[dict[str, Any]]]


class ScenarioLike(Protocol):
    name: str
    title: str
    table: str
    volume: bool
    idle: bool


# --------------------------------------------------------------------------- ratios


def add_ratios(summary: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Give each entry its ratios to its table's reference in the same scenario."""
    for per_server in summary.values():
        references: dict[str, str | None] = {
            table: next((name for name in BASELINES[table] if name in per_server), None)
            for table in TABLES
        }
        for entry in per_server.values():
            reference = references[entry["table"]]
            base = per_server.get(reference or "")
            entry["ratios_to"] = reference if base else None
            for key in ("requests_per_s", "mb_per_s", "p50_ms", "p99_ms"):
                ratio = entry[key] / base[key] if base and base[key] else None
                entry[f"{key}_ratio"] = ratio


# --------------------------------------------------------------------------- tables


def errors_text(errors: int, requests: int) -> str:
    if not errors:
        return "0"
    share = 100 * errors / max(requests, 1)
    return f"{errors} ({share:.1f}%)" if share >= 0.1 else f"{errors} (<0.1%)"


def ratio_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def table_row(title: str, entry: dict[str, Any], volume: bool, idle: bool) -> str:
    cells = [title, f"{entry['requests_per_s']:,.0f}"]
    if volume:
        cells.append(f"{entry['mb_per_s']:,.1f}")
    cells += [
        f"{entry['p50_ms']:.2f}",
        f"{entry['p99_ms']:.2f}",
        ratio_text(entry["requests_per_s_ratio"]),
        ratio_text(entry["p99_ms_ratio"]),
        f"{entry['requests_per_s_min']:,.0f}-{entry['requests_per_s_max']:,.0f}",
        errors_text(entry["errors"], entry["requests"]),
    ]
    if idle:
        held = entry.get("idle")
        cells.append(
            f"{held['held_min']:,} / {held['slots']:,} ({held['reconnects']:,} reconnects)"
            if held
            else "?"
        )
    return "| " + " | ".join(cells) + " |"


def scenario_tables(
    scenario: ScenarioLike,
    per_server: dict[str, dict[str, Any]],
    records: dict[str, Record],
    settings: dict[str, Any],
) -> list[str]:
    lines: list[str] = []
    titles = {name: record.title for name, record in records.items()}
    for table in TABLES:
        # In the order of --servers' default, not in the order the rounds ran them.
        rows = [n for n in records if n in per_server and per_server[n]["table"] == table]
        if not rows:
            continue
        reference = per_server[rows[0]]["ratios_to"]
        against = (
            titles.get(reference, reference)
            if reference
            else "nothing: none of " + ", ".join(BASELINES[table]) + " ran"
        )
        header = ["server", "req/s"]
        if scenario.volume:
            header.append("MB/s")
        header += ["p50 ms", "p99 ms", "req/s ratio", "p99 ratio", "req/s min-max", "errors"]
        if scenario.idle:
            header.append("idle connections held (fewest)")
        lines += [
            "",
            f"### {scenario.title} ({settings['connections']} connections): {TABLE_TITLES[table]}",
            "",
            f"Ratios to {against}.",
            "",
            "| " + " | ".join(header) + " |",
            "|---|" + "--:|" * (len(header) - 1),
        ]
        lines += [
            table_row(titles[name], per_server[name], scenario.volume, scenario.idle)
            for name in rows
        ]
    skipped = [
        f"{titles[name]} ({why})"
        for name, record in records.items()
        if record.status == "ran"
        for scenario_name, why in record.not_run.items()
        if scenario_name == scenario.name
    ]
    if skipped:
        lines += ["", f"Not run in this scenario: {'; '.join(skipped)}."]
    return lines


def memory_lines(records: dict[str, Record]) -> list[str]:
    lines = [
        "",
        "### Resident memory (VmRSS of every process, MB of 10^6 bytes)",
        "",
        "Idle: after start-up and the checks; loaded: after the last wrk scenario.",
        "",
        "| server | process | idle MB | loaded MB |",
        "|---|---|--:|--:|",
    ]
    for record in records.values():
        if not record.memory:
            continue
        roles: dict[str, dict[str, list[float]]] = {}
        for when, snapshot in record.memory.items():
            for process in snapshot:
                roles.setdefault(process["role"], {}).setdefault(when, []).append(process["rss_mb"])
        for role, by_when in roles.items():
            cells = [
                ", ".join(f"{v:.1f}" for v in by_when.get(when, [])) or "-"
                for when in ("idle", "loaded")
            ]
            count = max(len(v) for v in by_when.values())
            label = f"{role} (x{count})" if count > 1 else role
            lines.append(f"| {record.title} | {label} | {cells[0]} | {cells[1]} |")
    return lines


def markdown(
    result: dict[str, Any], records: dict[str, Record], scenarios: Sequence[ScenarioLike]
) -> str:
    settings = result["settings"]
    host = result["host"]
    versions = result["versions"]
    lines = [
        "## wsgihost benchmark suite",
        "",
        f"- {result['started']} on {host['cpu']} ({host['cpus']} CPUs), {host['platform']}, "
        f"commit {host['git_commit'][:12] or '?'}",
        "- versions: " + ", ".join(f"{key} {value}" for key, value in versions.items()),
        f"- wrk: {settings['connections']} connections, {settings['wrk_threads']} thread(s), "
        "on 127.0.0.1, sharing the CPUs with the servers",
        f"- {settings['rounds']} rounds x {settings['duration']} s per server and scenario, "
        f"servers alternating, after a {settings['warmup']} s warm-up; medians over the rounds",
        f"- budget: {settings['processes']} processes x {settings['threads']} threads running "
        "the app, per server (waitress: one process of both numbers' product)",
        "- ratios compare like with like, in the same scenario: each table names its "
        "reference; req/s above 1.00x is faster, p99 below 1.00x is better",
    ]
    for scenario in scenarios:
        per_server = result["summary"].get(scenario.name, {})
        lines += scenario_tables(scenario, per_server, records, settings)
    if any(record.memory for record in records.values()):
        lines += memory_lines(records)
        alone = result.get("app_alone_rss_mb") or {}
        if alone.get("python"):
            lines += [
                "",
                f"A bare `{settings['python']}` that has loaded the app: "
                f"{alone['python']:.1f} MB; Debian's /usr/bin/python3 (mod_wsgi's): "
                f"{alone.get('mod_wsgi_python') or 0:.1f} MB.",
            ]
    ran = [record for record in records.values() if record.status == "ran"]
    if ran:
        lines += [
            "",
            "### Servers and interpreters",
            "",
            "| server | budget | started | app's Python | SERVER_SOFTWARE |",
            "|---|---|---|---|---|",
        ]
    for record in ran:
        info = record.interpreter
        python = (
            f"{info.get('implementation', '?')} {info.get('version', '?')} "
            f"at {info.get('executable') or '?'} ({info.get('compiler', '?')}"
            + "".join(f", {flag}" for flag in info.get("speed_flags", []))
            + ")"
        )
        lines.append(
            f"| {record.title} | {record.budget} | {record.launcher} | {python} "
            f"| {info.get('server_software', '')} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- targets


def target(name: str, wanted: str, measured: str, status: str) -> dict[str, str]:
    return {"target": name, "wanted": wanted, "measured": measured, "status": status}


def first_in(per_server: dict[str, Any], names: Sequence[str]) -> str | None:
    return next((name for name in names if name in per_server), None)


def compare(
    summary: dict[str, dict[str, dict[str, Any]]],
    label: str,
    scenario: str,
    mine: Sequence[str],
    theirs: Sequence[str],
    wanted: float,
    metric: str = "requests_per_s",
    with_p99: bool = True,
) -> list[dict[str, str]]:
    """Rows for "mine at least wanted x theirs" (and "p99 no worse") in a scenario."""
    per_server = summary.get(scenario, {})
    me, them = first_in(per_server, mine), first_in(per_server, theirs)
    unit = "MB/s" if metric == "mb_per_s" else "req/s"
    rows = []
    if me is None or them is None:
        if not per_server:
            why = f"scenario {scenario} not run"
        else:
            missing = [n for n, found in ((mine[0], me), (theirs[0], them)) if not found]
            why = "no figures for " + ", ".join(missing)
        rows.append(target(label, f">= {wanted:.2f}x {unit}", why, NOT_MEASURED))
        if with_p99:
            rows.append(target(f"{label}: p99 no worse", "<= 1.00x", why, NOT_MEASURED))
        return rows
    a, b = per_server[me], per_server[them]
    ratio = a[metric] / b[metric] if b[metric] else 0.0
    precision = ",.1f" if metric == "mb_per_s" else ",.0f"
    rows.append(
        target(
            label,
            f">= {wanted:.2f}x {unit}",
            f"{ratio:.2f}x ({a[metric]:{precision}} vs {b[metric]:{precision}} {unit})",
            MET if ratio >= wanted else MISSING,
        )
    )
    if with_p99:
        p99 = a["p99_ms"] / b["p99_ms"] if b["p99_ms"] else 0.0
        rows.append(
            target(
                f"{label}: p99 no worse",
                "<= 1.00x",
                f"{p99:.2f}x ({a['p99_ms']:.2f} vs {b['p99_ms']:.2f} ms)",
                MET if a["p99_ms"] <= b["p99_ms"] else MISSING,
            )
        )
    return rows


def role_rss(records: dict[str, Record], server: str, role: str) -> list[float]:
    record = records.get(server)
    if record is None or not record.memory:
        return []
    snapshot = record.memory.get("loaded") or record.memory.get("idle") or []
    return [p["rss_mb"] for p in snapshot if p["role"] == role]


def memory_targets(
    records: dict[str, Record], app_alone: dict[str, float | None]
) -> list[dict[str, str]]:
    rows = []
    masters = role_rss(records, "wsgihost", "master") + role_rss(
        records, "wsgihost-daemon", "master"
    )
    rows.append(
        target(
            "memory: master",
            f"< {MASTER_MB:g} MB",
            f"{max(masters):.1f} MB (largest, after load)" if masters else "wsgihost did not run",
            (MET if max(masters) < MASTER_MB else MISSING) if masters else NOT_MEASURED,
        )
    )
    fronts = role_rss(records, "wsgihost-daemon", "front-end worker")
    where = "daemon mode"
    if not fronts:
        fronts = role_rss(records, "wsgihost", "front-end worker")
        where = "embedded mode, app included"
    rows.append(
        target(
            "memory: front-end worker",
            f"< {FRONT_END_MB:g} MB",
            f"{max(fronts):.1f} MB (largest, {where}, after load)"
            if fronts
            else "wsgihost did not run",
            (MET if max(fronts) < FRONT_END_MB else MISSING) if fronts else NOT_MEASURED,
        )
    )
    daemons = role_rss(records, "wsgihost-daemon", "daemon process")
    alone = app_alone.get("python")
    if daemons and alone:
        beyond = max(daemons) - alone
        rows.append(
            target(
                "memory: daemon process beyond the app",
                f"< {DAEMON_BEYOND_APP_MB:g} MB",
                f"{beyond:.1f} MB ({max(daemons):.1f} MB, less {alone:.1f} MB for a bare "
                "Python with the app)",
                MET if beyond < DAEMON_BEYOND_APP_MB else MISSING,
            )
        )
    else:
        rows.append(
            target(
                "memory: daemon process beyond the app",
                f"< {DAEMON_BEYOND_APP_MB:g} MB",
                "wsgihost (daemon) did not run" if not daemons else "no bare-Python figure",
                NOT_MEASURED,
            )
        )
    return rows


def groups_targets(groups: dict[str, Any] | None) -> list[dict[str, str]]:
    count = (groups or {}).get("settings", {}).get("groups", 50)
    ready_label = f"{count} daemon groups all READY after start"
    cpu_label = f"master idle with {count} groups"
    if not groups or groups.get("status") != "ran":
        why = (groups or {}).get("reason", "not run") if groups else "not run"
        return [
            target(ready_label, f"< {GROUPS_READY_S:g} s", why, NOT_MEASURED),
            target(cpu_label, f"< {MASTER_IDLE_CPU:g}% of a core", why, NOT_MEASURED),
        ]
    ready = groups["all_ready_s"]
    cpu = groups.get("master_cpu_percent")
    return [
        target(
            ready_label,
            f"< {GROUPS_READY_S:g} s",
            f"{ready:.2f} s",
            MET if ready < GROUPS_READY_S else MISSING,
        ),
        target(
            cpu_label,
            f"< {MASTER_IDLE_CPU:g}% of a core",
            "?" if cpu is None else f"{cpu:.2f}% over {groups['idle_window_s']:g} s",
            NOT_MEASURED if cpu is None else (MET if cpu < MASTER_IDLE_CPU else MISSING),
        ),
    ]


def targets(
    summary: dict[str, dict[str, dict[str, Any]]],
    records: dict[str, Record],
    groups: dict[str, Any] | None,
    app_alone: dict[str, float | None],
) -> list[dict[str, str]]:
    """Every target of the issue, in order, each met, MISSING or not measured."""
    daemon, apache_daemon = ("wsgihost-daemon",), ("apache-mod_wsgi-daemon",)
    embedded, apache = ("wsgihost",), ("apache-mod_wsgi",)
    rows = [
        *compare(
            summary,
            "daemon mode, hello keep-alive vs Apache daemon mode",
            "keepalive",
            daemon,
            apache_daemon,
            DAEMON_KEEPALIVE,
        ),
        *compare(
            summary,
            "daemon mode, hello Connection: close vs Apache daemon mode",
            "close",
            daemon,
            apache_daemon,
            DAEMON_CLOSE,
        ),
        *compare(
            summary,
            "embedded mode, hello keep-alive vs Apache embedded",
            "keepalive",
            embedded,
            apache,
            EMBEDDED_KEEPALIVE,
        ),
        *compare(
            summary,
            "embedded mode, hello Connection: close vs Apache embedded",
            "close",
            embedded,
            apache,
            EMBEDDED_CLOSE,
        ),
        *compare(
            summary,
            "1 MB response through a daemon vs Apache daemon mode",
            "response-1m",
            daemon,
            apache_daemon,
            DAEMON_BIG,
            metric="mb_per_s",
        ),
        *compare(
            summary,
            "1 MB POST through a daemon vs Apache daemon mode",
            "post-1m",
            daemon,
            apache_daemon,
            DAEMON_POST,
            metric="mb_per_s",
        ),
        *compare(
            summary,
            "static 1 KB file vs Apache's static files",
            "static-1k",
            ("wsgihost", "wsgihost-daemon"),
            ("apache-mod_wsgi", "apache-mod_wsgi-daemon"),
            STATIC_SMALL,
        ),
        *compare(
            summary,
            "static 1 MB file vs Apache's static files",
            "static-1m",
            ("wsgihost", "wsgihost-daemon"),
            ("apache-mod_wsgi", "apache-mod_wsgi-daemon"),
            STATIC_LARGE,
            metric="mb_per_s",
        ),
    ]
    for scenario in ("keepalive", "close", "response-100k", "response-1m", "post-1m", "idle"):
        for peer in ("gunicorn-sync", "gunicorn-gthread"):
            rows += compare(
                summary,
                f"wsgihost (embedded) vs {peer.replace('-', ' ')}, {scenario}",
                scenario,
                embedded,
                (peer,),
                OVER_GUNICORN,
                with_p99=False,
            )
    rows += memory_targets(records, app_alone)
    rows += groups_targets(groups)
    return rows


def targets_markdown(rows: list[dict[str, str]]) -> str:
    met = sum(1 for row in rows if row["status"] == MET)
    missing = sum(1 for row in rows if row["status"] == MISSING)
    lines = [
        "## Targets",
        "",
        f"{met} met, {missing} MISSING, {len(rows) - met - missing} not measured. Ratios are "
        "to the reference in the same run; p99 ratios below 1.00x are better.",
        "",
        "| target | wanted | measured | result |",
        "|---|---|---|---|",
    ]
    for row in rows:
        status = f"**{row['status']}**" if row["status"] == MISSING else row["status"]
        lines.append(f"| {row['target']} | {row['wanted']} | {row['measured']} | {status} |")
    return "\n".join(lines) + "\n"
