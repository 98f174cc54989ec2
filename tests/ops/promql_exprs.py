#!/usr/bin/env python3
"""Extract the PromQL expressions of pg_lockwatch's dashboard and alert rules.

Standard library only (PyYAML is used when importable, else a small parser that
understands what Prometheus rule files use: `alert:`/`record:` names and
`expr:` as a plain, quoted, folded `>`/`>-` or literal `|`/`|-` scalar).

    python3 tests/ops/promql_exprs.py exprs   dashboards/pg_lockwatch.json dashboards/pg_lockwatch.rules.yml
        -> one JSON array of {"source", "title", "expr"}
           source: "dashboard" or "rules"
           title:  "<panel title> [<refId>]" or the alert/record name
           expr:   runnable PromQL: $instance / ${instance} / [[instance]] -> .*
                   $__rate_interval / $__interval (and ${...} forms) -> 1m, $__range -> 1h
    python3 tests/ops/promql_exprs.py metrics dashboards/pg_lockwatch.json dashboards/pg_lockwatch.rules.yml
        -> the pg_lockwatch_* metric names referenced, one per line, sorted;
           histogram series (_bucket/_sum/_count) are reported as their family.
    Options: --json (metrics as a JSON array), --no-yaml (force the built-in parser)

Files ending in .json are Grafana dashboards; .yml/.yaml are Prometheus rule files.
As a module: dashboard_exprs(path), rules_exprs(path), extract(paths), metric_names(exprs).
"""
import json
import re
import sys

METRIC_RE = re.compile(r"\bpg_lockwatch_[A-Za-z0-9_]*[A-Za-z0-9]")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Only these metrics are histograms; a gauge or counter that happens to end in
# _count must not be truncated.
HISTOGRAM_FAMILIES = {"pg_lockwatch_poll_duration_seconds"}

_SUBSTITUTIONS = [
    (re.compile(r"\$\{instance(?::[a-z]+)?\}|\[\[instance\]\]|\$instance\b"), ".*"),
    (re.compile(r"\$\{__rate_interval\}|\$__rate_interval\b"), "1m"),
    (re.compile(r"\$\{__interval\}|\$__interval\b"), "1m"),
    (re.compile(r"\$\{__range\}|\$__range\b"), "1h"),
]


def substitute(expr):
    """Replace Grafana template variables by values Prometheus accepts."""
    for rx, repl in _SUBSTITUTIONS:
        expr = rx.sub(repl, expr)
    return expr


# ---------------------------------------------------------------- dashboard
def _walk_panels(panels):
    for p in panels or []:
        yield p
        # collapsed rows keep their panels inside the row
        yield from _walk_panels(p.get("panels"))


def dashboard_panels(dash):
    """All panels of a dashboard, nested rows and the legacy `rows` layout included."""
    yield from _walk_panels(dash.get("panels"))
    for row in dash.get("rows") or []:  # schema < 16
        yield from _walk_panels(row.get("panels"))


def dashboard_exprs(path, raw=False):
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    out = []
    for p in dashboard_panels(dash):
        for t in p.get("targets") or []:
            expr = t.get("expr")
            if not expr:
                continue
            title = "%s [%s]" % (p.get("title", "?"), t.get("refId", "?"))
            out.append({"source": "dashboard", "title": title,
                        "expr": expr if raw else substitute(expr)})
    return out


# ---------------------------------------------------------------- rules YAML
def _unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1].replace("''", "'")
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return json.loads(v)  # YAML double-quoted escapes are a JSON superset
    return v


def _strip_comment(v):
    # a plain scalar ends at " #"
    m = re.search(r"\s#", v)
    return v[: m.start()] if m else v


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def parse_rules_minimal(text):
    """[(kind, name, expr)] from a Prometheus rule file, without PyYAML."""
    lines = text.splitlines()
    rules = []
    cur = None  # dict for the rule being read
    i = 0
    key_re = re.compile(r"^(\s*)(?:-\s+)?(alert|record|expr)\s*:\s?(.*)$")
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        m = key_re.match(line)
        if not m:
            i += 1
            continue
        key, rest = m.group(2), m.group(3).rstrip()
        key_indent = line.index(key)
        if key in ("alert", "record"):
            cur = {"kind": key, "name": _unquote(_strip_comment(rest)), "expr": None}
            rules.append(cur)
            i += 1
            continue
        # expr
        i += 1
        block = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > key_indent):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():
            block.pop()
        head = rest.strip()
        if head[:1] in (">", "|"):
            folded = head[0] == ">"
            chomp = head[1:2]  # "-", "+" or ""
            ind = min((_indent(b) for b in block if b.strip()), default=0)
            body = [b[ind:] if b.strip() else "" for b in block]
            if folded:
                # YAML folding: the line break between two normal lines becomes
                # a space (or, with blank lines between, one "\n" per blank line);
                # around more-indented lines every break is kept.
                value, prev, blanks = "", None, 0  # prev: None (start), "normal", "more"
                for b in body:
                    if not b:
                        blanks += 1
                        continue
                    more = b.startswith((" ", "\t"))
                    if prev is None:
                        sep = "\n" * blanks
                    elif prev == "normal" and not more:
                        sep = "\n" * blanks if blanks else " "
                    else:
                        sep = "\n" * (1 + blanks)
                    value += sep + b
                    prev, blanks = ("more" if more else "normal"), 0
            else:
                value = "\n".join(body)
            if chomp != "-":
                value += "\n"
        elif head[:1] in ("'", '"'):
            value = _unquote(" ".join([head] + [b.strip() for b in block]))
        else:
            parts = [_strip_comment(head).strip()] + [_strip_comment(b).strip() for b in block if b.strip()
                                                      and not b.lstrip().startswith("#")]
            value = " ".join(p for p in parts if p)
        if cur is not None and cur["expr"] is None:
            cur["expr"] = value
    return [(r["kind"], r["name"], r["expr"]) for r in rules if r["expr"] is not None]


def parse_rules(text, use_yaml=True):
    if use_yaml:
        try:
            import yaml  # type: ignore
        except ImportError:
            yaml = None
        if yaml is not None:
            doc = yaml.safe_load(text) or {}
            out = []
            for g in doc.get("groups") or []:
                for r in g.get("rules") or []:
                    kind = "alert" if "alert" in r else "record"
                    out.append((kind, r.get(kind), str(r.get("expr"))))
            return out
    return parse_rules_minimal(text)


def rules_exprs(path, use_yaml=True):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [{"source": "rules", "title": name, "expr": expr}
            for _kind, name, expr in parse_rules(text, use_yaml)]


# ---------------------------------------------------------------- common
def extract(paths, use_yaml=True):
    out = []
    for p in paths:
        if p.endswith(".json"):
            out.extend(dashboard_exprs(p))
        elif p.endswith((".yml", ".yaml")):
            out.extend(rules_exprs(p, use_yaml))
        else:
            raise SystemExit("promql_exprs: don't know what %s is (want .json or .yml/.yaml)" % p)
    return out


def _strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)


def family(name):
    for s in HISTOGRAM_SUFFIXES:
        if name.endswith(s) and name[: -len(s)] in HISTOGRAM_FAMILIES:
            return name[: -len(s)]
    return name


def metric_names(exprs):
    names = set()
    for e in exprs:
        text = e["expr"] if isinstance(e, dict) else e
        for m in METRIC_RE.findall(_strip_strings(text)):
            names.add(family(m))
    return sorted(names)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    unknown = flags - {"--json", "--no-yaml"}
    if len(args) < 2 or args[0] not in ("exprs", "metrics") or unknown:
        sys.stderr.write(__doc__)
        return 2
    exprs = extract(args[1:], use_yaml="--no-yaml" not in flags)
    if args[0] == "exprs":
        print(json.dumps(exprs, indent=2))
    elif "--json" in flags:
        print(json.dumps(metric_names(exprs)))
    else:
        for n in metric_names(exprs):
            print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
