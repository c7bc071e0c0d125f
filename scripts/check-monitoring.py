#!/usr/bin/env python3
"""make monitoring-check: the files of monitoring/ against each other and
against Prometheus's own tool (make check and make test run it, next to
make docs-check; a second or two).

1. `promtool check rules` accepts monitoring/prometheus/snowflake-alerts.yml.
2. `promtool test rules` passes snowflake-alerts.test.yml: series in, the
   alerts (labels and annotations) that must fire, and those that must not.
3. The names cannot drift apart: every snowflake_* series that an alert
   rule's expression or the unit test's input names is one the query file
   (monitoring/postgres_exporter/snowflake-queries.yaml) produces, and the
   metric table of docs/monitoring.md lists exactly those the query file
   produces, each with its type. Counters, and only they, end in _total.
   (tests/t/038_postgres_exporter.pl checks the same names against what a
   real exporter serves.)

promtool is Debian's package prometheus (scripts/install-deps.sh test).
Prints one line per check and 'N passed, N failed'; exits 1 on a failure.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUERIES = "monitoring/postgres_exporter/snowflake-queries.yaml"
RULES = "monitoring/prometheus/snowflake-alerts.yml"
RULE_TESTS = "monitoring/prometheus/snowflake-alerts.test.yml"
DOC = "docs/monitoring.md"
results = {"passed": 0, "failed": 0}


def check(ok, what, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("ok      " if ok else "FAILED  ") + what + (f": {detail}" if detail and not ok else ""))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def promtool(*args):
    try:
        run = subprocess.run(["promtool", *args], cwd=ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        return False, "promtool is not installed (Debian package prometheus)"
    return run.returncode == 0, (run.stdout + run.stderr).strip()


# ---- 1, 2. promtool ----------------------------------------------------------
ok, out = promtool("check", "rules", RULES)
check(ok, f"promtool check rules {RULES}", out)
ok, out = promtool("test", "rules", RULE_TESTS)
check(ok, f"promtool test rules {RULE_TESTS}", out)

# ---- 3. names ---------------------------------------------------------------
# The query file, read as text in its own layout: a namespace at column 0, a
# metric at `    - name:`, its usage on `        usage: "..."`. A column c of
# namespace ns is the series ns_c; LABEL columns are labels.
declared = {}
namespace = column = None
for line in read(QUERIES).splitlines():
    if m := re.match(r"^(\w+):\s*$", line):
        namespace = m.group(1)
    elif m := re.match(r"^    - (\w+):\s*$", line):
        column = m.group(1)
    elif (m := re.match(r'^        usage: "(\w+)"', line)) and m.group(1) != "LABEL":
        declared[f"{namespace}_{column}"] = m.group(1).lower()
check(len(declared) >= 20, f"{QUERIES} declares {len(declared)} metrics")

named_otherwise = sorted(n for n, t in declared.items() if (t == "counter") != n.endswith("_total"))
check(not named_otherwise, "counters, and only they, end in _total", ", ".join(named_otherwise))

exprs = " ".join(m.group(1) for m in re.finditer(r"^\s+expr:\s*(.+)$", read(RULES), re.M))
used = set(re.findall(r"\bsnowflake_\w+", exprs))
unknown = sorted(used - declared.keys())
check(used and not unknown, f"every series the alert rules use ({len(used)}) is in the query file",
      ", ".join(unknown))

inputs = set(re.findall(r"series:\s*'(snowflake_\w+)", read(RULE_TESTS)))
unknown = sorted(inputs - declared.keys())
check(inputs and not unknown, f"every series the rules' unit test feeds ({len(inputs)}) is in the query file",
      ", ".join(unknown))

# The metric table: rows `| `name` | type | ...`.
documented = dict(re.findall(r"^\| `(snowflake_\w+)` \| (counter|gauge) \|", read(DOC), re.M))
missing = sorted(declared.keys() - documented.keys())
check(not missing, f"{DOC} lists every metric of the query file", ", ".join(missing))
extra = sorted(documented.keys() - declared.keys())
check(not extra, f"{DOC} lists no metric the query file does not produce", ", ".join(extra))
mistyped = sorted(n for n in declared.keys() & documented.keys() if declared[n] != documented[n])
check(not mistyped, f"{DOC} gives each metric the query file's type", ", ".join(mistyped))

print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
