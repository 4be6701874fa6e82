"""The serving benchmark's result as markdown tables (the JSON holds everything)."""

from __future__ import annotations

from typing import Any


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _pcts(figures: dict[str, Any] | None) -> str:
    if not figures or not figures.get("n"):
        return "–"
    return f"{_ms(figures['p50_ms'])} / {_ms(figures['p95_ms'])} / {_ms(figures['p99_ms'])}"


def _memory(figures: dict[str, float] | None) -> str:
    if not figures:
        return "–"
    return (f"RSS {figures['rss_mb']:,.0f} MB (PSS {figures['pss_mb']:,.0f}, "
            f"{figures['processes']} process{'es' if figures['processes'] > 1 else ''})")


def summary(result: dict[str, Any]) -> list[str]:
    cold, upload = result.get("cold_start", {}), result.get("upload", {})
    rows = [
        ("load average (1 min) at start / end (2 cores)",
         f"{result.get('load_average_at_start', 0):.1f} / "
         f"{result.get('load_average_at_end', 0):.1f}"),
        ("server processes (`--workers`)", str(result.get("workers"))),
        ("callback requests recorded / callbacks", f"{result.get('requests_recorded')} / "
                                                   f"{len(result.get('callbacks', []))}"),
        ("cold start: listening / first overview figures (aim ≤ 3 s)",
         f"{cold.get('listening_s', 0):.1f} s / {cold.get('first_figures_s', 0):.1f} s"),
        ("memory after start (aim < 400 MB)", _memory(result.get("memory_after_start"))),
        ("memory after first views", _memory(result.get("memory_after_first_views"))),
        (f"memory once idle ({result.get('idle_after_s', 0):.0f} s after the first views)",
         _memory(result.get("memory_idle"))),
        ("memory peak during the upload, sampled (aim < 1 GB)",
         f"RSS {upload.get('peak_rss_mb', 0):,.0f} MB" + (
             f" (Pss {upload['peak_pss_mb']:,.0f})" if upload.get("peak_pss_mb") else "")),
        ("memory peak over the run: sampled / sum of VmHWM",
         f"{result.get('peak_rss_sampled_mb', 0):,.0f} / "
         f"{result.get('memory_end', {}).get('hwm_mb', 0):,.0f} MB"),
    ]
    for readers, figures in result.get("replay", {}).items():
        overall = figures["overall"]
        rows.append((f"{readers} readers: p50 / p95 / p99 ms (aim p95 < 300), errors, req/s",
                     f"{_pcts(overall)}, {overall['errors']} errors, "
                     f"{overall.get('per_s', 0):.1f}/s"))
        if overall.get("cache"):
            rows.append((f"{readers} readers: response cache", _cache(overall)))
    if upload:
        during, after = upload["during_upload"]["overall"], upload["after_upload"]["overall"]
        rows += [
            (f"upload: {upload['rows']:,} rows ({upload['bytes'] / 1e6:.1f} MB)",
             f"HTTP {upload['status']} in {upload['upload_s']:.1f} s: {upload['outcome']}"),
            (f"{upload['readers']} readers during the upload: p50 / p95 / p99 ms (aim p95 "
             "< 1,000), errors", f"{_pcts(during)}, {during.get('errors', 0)} errors"),
            ("readers after the upload's answer until shown", f"{_pcts(after)}, "
                                                             f"{after.get('errors', 0)} errors"),
            ("response cache during / after the upload",
             f"{_cache(during)}; after: {_cache(after)}"),
            ("new figures shown on every probed callback after the answer (aim ≤ 3 s)",
             _visible(upload)),
        ]
    return ["| what | measured |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]


def _cache(overall: dict[str, Any]) -> str:
    """Hits among cacheable answers, and p95 of hits, misses and uncacheable ones apart."""
    if not overall.get("cache"):
        return "–"
    share = overall.get("hit_share")
    return (f"{'–' if share is None else f'{share:.0%}'} hits {overall['cache']}; p95 ms hit "
            f"{_ms(overall.get('hit_p95_ms'))}, miss {_ms(overall.get('miss_p95_ms'))}, "
            f"off {_ms(overall.get('off_p95_ms'))}")


def _visible(upload: dict[str, Any]) -> str:
    seen = {k: v for k, v in upload["visible_s"].items() if v is not None}
    unchanged = sorted(set(upload["visible_s"]) - set(seen))
    text = f"{max(seen.values()):.1f} s (latest of {len(seen)})" if seen else "none changed"
    if unchanged:
        text += f"; unchanged after the timeout: {', '.join(unchanged)}"
    return text


def per_callback(result: dict[str, Any]) -> list[str]:
    readers = list(result.get("replay", {}))
    head = ["callback", "cold ms", "warm ms", "cold/warm", "first views p50/p95/p99",
            "warm p50/p95/p99", "DuckDB p50", "warm/DuckDB"]
    head += [f"{n} readers p50/p95/p99" for n in readers] + ["p95 during the upload", "new figures after s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    upload = result.get("upload", {})
    during = upload.get("during_upload", {}).get("callbacks", {})
    for name, figures in result.get("per_callback", {}).items():
        warm = figures["warm_same_call_ms"]
        plain = figures["plain_duckdb_p50_ms"]
        cells = [name, _ms(figures["cold_ms"]), _ms(warm), f"{figures['cold_ms'] / warm:.1f}×",
                 _pcts(figures["first_views"]), _pcts(figures["warm"]), f"{plain:.1f}",
                 f"{figures['warm']['p50_ms'] / plain:.1f}×"]
        cells += [_pcts(result["replay"][n]["callbacks"].get(name)) for n in readers]
        shown = upload.get("visible_s", {}).get(name, "–")
        cells += [_ms(during.get(name, {}).get("p95_ms")),
                  "–" if shown == "–" else ("never" if shown is None else f"{shown:.1f}")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(result: dict[str, Any]) -> str:
    return "\n".join([f"Serving benchmark, {result.get('when')}", "", *summary(result), "",
                      *per_callback(result)])
