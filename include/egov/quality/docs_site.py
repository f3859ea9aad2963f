"""The GX Data Docs made safe to serve and able to render offline.

- Values from the portals (unexpected values, value sets of unit codes, observed values) reach
  GX's HTML unescaped: `escape_validation_result` and `escape_suite` HTML-escape every string of
  what the renderers show, in the stored validation results and suites, before the pages are
  built (the warehouse's `dq_validation_result` keeps the values as they were).
- GX links bootstrap, font-awesome, jquery, vega... from CDNs and a tracking image from S3:
  `offline_html` drops every script (the docs are served with a CSP `sandbox` that runs none),
  links the copies in `docs_assets/` (installed into the site's `static/vendor/`) and points
  images at the site's own files. GX's index lists its runs through JavaScript, so
  `write_index` writes a static one.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from datetime import datetime
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "docs_assets"
VENDOR = "static/vendor"
STYLESHEETS = (
    "bootstrap-4.3.1/bootstrap.min.css",
    "fontawesome-free-6.6.0/css/fontawesome.min.css",
    "fontawesome-free-6.6.0/css/solid.min.css",
)
VENDOR_FILES = STYLESHEETS + ("fontawesome-free-6.6.0/webfonts/fa-solid-900.woff2",
                              "bootstrap-4.3.1/LICENSE", "fontawesome-free-6.6.0/LICENSE.txt")
MARKER = "<!-- egov: offline -->"

# Keys of expectation kwargs that GX reads as structure (ours, never portal data).
_STRUCTURAL = frozenset({"column", "column_A", "column_B", "column_list", "row_condition",
                         "condition_parser", "result_format", "catch_exceptions", "meta"})

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.S | re.I)
_EXTERNAL_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)
_EXTERNAL_SRC = re.compile(r"(\bsrc\s*=\s*[\"'])(?:https?:)?//[^\"']*([\"'])", re.I)
_EXTERNAL_URL = re.compile(r"url\(\s*[\"']?(?:https?:)?//[^)]*\)", re.I)
_HEAD = re.compile(r"<head\b[^>]*>", re.I)


def escape_value(value):
    """Every string in `value` (nested dicts/lists, keys included) HTML-escaped."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {escape_value(k): escape_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_value(v) for v in value]
    return value


def escape_kwargs(kwargs: dict) -> dict:
    return {k: (v if k in _STRUCTURAL else escape_value(v)) for k, v in kwargs.items()}


def escape_validation_result(suite_result) -> None:
    """HTML-escape, in place, what GX renders of each expectation's result and arguments."""
    from egov.masking import mask_value

    for result in suite_result.results:
        if result.result:  # samples masked (egov.masking), then escaped
            result.result = escape_value(mask_value(dict(result.result)))
        config = result.expectation_config
        if config is not None and config.kwargs:
            config.kwargs = escape_kwargs(dict(config.kwargs))
        if result.exception_info:
            result.exception_info = escape_value(dict(result.exception_info))


def escape_rules(rules) -> list:
    """The rules with HTML-escaped arguments: the suite the expectation pages are built from."""
    from dataclasses import replace

    return [replace(rule, kwargs=escape_kwargs(dict(rule.kwargs))) for rule in rules]


def install_assets(site: Path) -> Path:
    """Copy the vendored styles into the site (once per version)."""
    target = Path(site) / VENDOR
    for name in VENDOR_FILES:
        dest = target / name
        src = ASSETS / name
        if not dest.exists() or dest.stat().st_size != src.stat().st_size:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    return target


_ACTIONS_CARD = re.compile(r"<div class=\"card mb-3\">\s*<div class=\"card-header p-2\">\s*"
                           r"<strong>Actions</strong>", re.I)
_NEWSLETTER = re.compile(r"<p>[^<]*newsletter[^<]*<a\b[^>]*>[^<]*</a>\s*</p>", re.I)
_DIV_TAG = re.compile(r"<(/?)div\b[^>]*>", re.I)


def _drop_element(text: str, start: int) -> str:
    """`text` without the <div> element opening at `start` (nesting counted)."""
    depth = 0
    for tag in _DIV_TAG.finditer(text, start):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return text[:start] + text[tag.end():]
    return text


def strip_dead_controls(text: str) -> str:
    """Without what cannot work here: GX's "Show All / Failed Only" buttons (they run
    JavaScript, which the CSP sandbox stops) and its newsletter link to the internet."""
    match = _ACTIONS_CARD.search(text)
    while match:
        text = _drop_element(text, match.start())
        nxt = _ACTIONS_CARD.search(text, match.start() + 1)
        if nxt and nxt.start() == match.start():
            break
        match = nxt
    return _NEWSLETTER.sub("", text)


def offline_html(text: str, root: str) -> str:
    """A Data Docs page with no script, no dead button and no request or link outside the
    site. `root` is the relative path from the page to the site's root ('' or '../../')."""
    if MARKER in text:
        return strip_dead_controls(text)
    text = strip_dead_controls(text)
    text = _SCRIPT.sub("", text)
    text = _EXTERNAL_LINK.sub("", text)
    text = re.sub(r"(\bsrc\s*=\s*[\"'])(?:https?:)?//[^\"']*logo-long\.png[^\"']*([\"'])",
                  lambda m: f"{m.group(1)}{root}static/images/logo-long.png{m.group(2)}", text)
    text = _EXTERNAL_SRC.sub(lambda m: f"{m.group(1)}{m.group(2)}", text)
    text = _EXTERNAL_URL.sub("none", text)
    text = re.sub(r"(\bhref\s*=\s*[\"'])(?:\.\./)*(?:\./)?static/images/favicon\.ico",
                  lambda m: f"{m.group(1)}{root}static/images/favicon.ico", text)
    links = "".join(f'<link rel="stylesheet" href="{root}{VENDOR}/{name}">'
                    for name in STYLESHEETS)
    head = _HEAD.search(text)
    insert = f"{MARKER}{links}"
    if head:
        return text[: head.end()] + insert + text[head.end():]
    return insert + text


def page_root(site: Path, page: Path) -> str:
    depth = len(page.relative_to(site).parts) - 1
    return "../" * depth


def make_offline(site: Path, pages=None) -> int:
    """Rewrite the site's pages (or `pages`) for offline use; returns how many changed."""
    site = Path(site)
    install_assets(site)
    changed = 0
    for page in (pages if pages is not None else site.rglob("*.html")):
        page = Path(page)
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        new = offline_html(text, page_root(site, page))
        if new != text:
            tmp = page.with_name(page.name + ".tmp")
            tmp.write_text(new, encoding="utf-8")
            os.replace(tmp, page)
            changed += 1
    return changed


def _validation_pages(site: Path, project: Path):
    """(suite, run name, run time, page, success) of every validation page, newest first;
    success is "gate" when expectations failed but the quality gate passed.
    Each page's outcome is read once from GX's stored result and kept in `.egov-index.json`."""
    rows = []
    base = site / "validations"
    store = project / "gx" / "uncommitted" / "validations"
    cache_file = site / ".egov-index.json"
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    seen = {}
    for page in base.rglob("*.html"):
        rel = page.relative_to(base)
        if len(rel.parts) < 4:
            continue
        *suite_parts, run_name, run_time, _batch = rel.parts
        key = rel.as_posix()
        if key in cache:
            success = cache[key]
        else:
            try:
                stored = json.loads((store / rel.with_suffix(".json")).read_text(
                    encoding="utf-8"))
                success = bool(stored.get("success"))
                gate = (stored.get("meta") or {}).get("egov_gate") or {}
                if not success and gate.get("passed"):
                    success = "gate"  # rows rejected to quarantine, the load went on
            except (OSError, ValueError):
                success = None
        seen[key] = success
        rows.append((".".join(suite_parts), run_name, run_time, page.relative_to(site),
                     success))
    if seen != cache:
        tmp = cache_file.with_name(cache_file.name + ".tmp")
        tmp.write_text(json.dumps(seen), encoding="utf-8")
        os.replace(tmp, cache_file)
    rows.sort(key=lambda r: (r[2], r[0]), reverse=True)
    return rows


def _when(run_time: str) -> str:
    try:
        return datetime.strptime(run_time[:15], "%Y%m%dT%H%M%S").strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return run_time


def write_index(site: Path, project: Path, *, limit: int = 500) -> Path:
    """A static index of the site (GX's own lists its pages through JavaScript)."""
    site, e = Path(site), html.escape
    rows = _validation_pages(site, Path(project))
    status = {True: ('<i class="fas fa-check-circle text-success"></i> đạt', "table-success"),
              False: ('<i class="fas fa-times text-danger"></i> không đạt', "table-danger"),
              "gate": ('<i class="fas fa-exclamation-triangle text-warning"></i> đạt ngưỡng '
                       "(bản ghi lỗi đã được cách ly, lượt nạp tiếp tục)", "table-warning"),
              None: ("?", "")}
    body = []
    for suite, run_name, run_time, page, success in rows[:limit]:
        label, css = status[success]
        body.append(f'<tr class="{css}"><td>{label}</td><td>{e(_when(run_time))}</td>'
                    f'<td>{e(run_name)}</td><td><a href="{e(page.as_posix())}">{e(suite)}</a>'
                    "</td></tr>")
    suites = sorted((p.relative_to(site) for p in (site / "expectations").rglob("*.html")),
                    key=lambda p: p.as_posix())
    suite_items = "".join(
        f'<li><a href="{e(p.as_posix())}">{e(".".join(p.with_suffix("").parts[1:]))}</a></li>'
        for p in suites)
    more = (f"<p>{len(rows) - limit} lần kiểm tra cũ hơn không được liệt kê.</p>"
            if len(rows) > limit else "")
    text = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>Chất lượng dữ liệu — GX Data Docs</title>
<link rel="icon" href="static/images/favicon.ico">
</head><body><div class="container-fluid p-4">
<h1 class="h3">Chất lượng dữ liệu <small class="text-muted">(Great Expectations Data Docs)</small></h1>
<p>Mỗi lần nạp dữ liệu của một cổng được kiểm tra bằng các bộ quy tắc (suite); kết quả chi tiết
của từng lần kiểm tra ở liên kết bên dưới. Mới nhất trước.</p>
<h2 class="h5">Các lần kiểm tra ({len(rows)})</h2>
<table class="table table-sm table-hover"><thead><tr><th>Kết quả</th><th>Thời điểm</th>
<th>Lượt chạy</th><th>Bộ quy tắc</th></tr></thead><tbody>{"".join(body)}</tbody></table>{more}
<h2 class="h5">Bộ quy tắc</h2><ul>{suite_items}</ul>
</div></body></html>
"""
    index = site / "index.html"
    tmp = index.with_name("index.html.tmp")
    tmp.write_text(offline_html(text, ""), encoding="utf-8")
    os.replace(tmp, index)
    return index
