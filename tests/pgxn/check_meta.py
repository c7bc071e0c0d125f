#!/usr/bin/env python3
"""make pgxn-check: META.json against the PGXN Meta Spec 1.0.0, and the
release version against its one source.

1. META.json is validated with python3-jsonschema (Debian's package) against
   tests/pgxn/meta-spec-v1.schema.json, the spec's rules written as a JSON
   Schema. So that this check can fail, copies of META.json with one known
   fault each (no license, a version that is not SemVer, ...) must be
   rejected, and are.
2. The version has one source, default_version in snowflake.control; the
   release is its SemVer form (1.0 -> 1.0.0). META.json's version, the
   version of what it provides, the file it provides, and the Debian
   package's upstream version (debian/changelog) must all agree with it.
3. So must the documentation (README.md, CONTRIBUTING.md, CHANGELOG.md,
   docs/, bench/README.md): every .deb named there carries the Debian
   package's version, every .zip the release, CHANGELOG.md's newest entry is
   the release, the README's SQL API heading the version; and the install
   scripts: the Makefile's DATA and every list of them in the documentation
   (a paragraph naming two or more) name every snowflake--*.sql there is, and
   no script named anywhere is missing.

Prints one line per check and 'N passed, N failed'; exits 1 on a failure.
"""
import copy
import json
import os
import re
import sys

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
results = {"passed": 0, "failed": 0}


def check(ok, what, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("ok      " if ok else "FAILED  ") + what + (f": {detail}" if detail and not ok else ""))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


meta = json.loads(read("META.json"))
schema = json.loads(read("tests/pgxn/meta-spec-v1.schema.json"))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(
    schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def errors_of(doc):
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator.iter_errors(doc)]


errors = errors_of(meta)
check(not errors, "META.json is valid against the PGXN Meta Spec 1.0.0", "; ".join(errors))


# Known faults: each must be rejected, or the schema checks nothing.
def without(key):
    def mutate(d):
        del d[key]
    return mutate


def setter(value, *path):
    def mutate(d):
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
    return mutate


faults = {
    "no license": without("license"),
    "no provides": without("provides"),
    "no maintainer": without("maintainer"),
    "no meta-spec": without("meta-spec"),
    "version 1.0 (not SemVer)": setter("1.0", "version"),
    "license 'PostgreSQL License' (not a spec string)": setter("PostgreSQL License", "license"),
    "provides without a file": lambda d: d["provides"]["snowflake"].pop("file"),
    "provides version 1.0 (not SemVer)": setter("1.0", "provides", "snowflake", "version"),
    "meta-spec version 2.0.0": setter("2.0.0", "meta-spec", "version"),
    "name with a slash": setter("snow/flake", "name"),
    "prereqs phase 'install' (not a phase)": setter({"requires": {"PostgreSQL": "15.0.0"}}, "prereqs", "install"),
    "prereqs relationship 'needs'": setter({"needs": {"PostgreSQL": "15.0.0"}}, "prereqs", "runtime"),
    "release_status 'final'": setter("final", "release_status"),
    "unknown key 'homepage' at the top": setter("https://example.org", "homepage"),
}
for name, mutate in faults.items():
    doc = copy.deepcopy(meta)
    mutate(doc)
    check(bool(errors_of(doc)), f"a META.json with {name} is rejected")

# One source for the version.
control = read("snowflake.control")
m = re.search(r"^default_version\s*=\s*'([^']+)'", control, re.M)
check(m is not None, "snowflake.control has a default_version")
ext_version = m.group(1) if m else "?"
release = ext_version + ".0" if re.fullmatch(r"\d+\.\d+", ext_version) else ext_version
check(meta.get("version") == release, f"META.json version is {release} (default_version {ext_version})",
      f"it is {meta.get('version')}")
provided = meta.get("provides", {}).get("snowflake", {})
check(provided.get("version") == release, f"META.json provides snowflake {release}",
      f"it says {provided.get('version')}")
provided_file = provided.get("file", "")
check(provided_file == "snowflake.control" and os.path.exists(os.path.join(ROOT, provided_file)),
      "META.json provides file is snowflake.control (one file for every version), and it exists",
      f"it is {provided_file}")
install_scripts = [f for f in os.listdir(ROOT) if re.fullmatch(r"snowflake--[\d.]+(--[\d.]+)?\.sql", f)]
check(any(f.endswith(f"{ext_version}.sql") for f in install_scripts),
      f"a script installs or updates to {ext_version}", f"scripts: {install_scripts}")
changelog = read("debian/changelog").splitlines()[0]
m = re.match(r"^(\S+) \(([^)]+)\)", changelog)
deb_upstream = m.group(2).rsplit("-", 1)[0] if m else "?"
check(deb_upstream == release, f"debian/changelog's upstream version is {release}", f"it is {deb_upstream}")

deb_version = m.group(2) if m else "?"

# ---- 3. the documentation ------------------------------------------------
docs = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "bench/README.md"] + sorted(
    os.path.relpath(os.path.join(d, f), ROOT)
    for d, _, files in os.walk(os.path.join(ROOT, "docs")) for f in files if f.endswith(".md"))
texts = {doc: read(doc) for doc in docs if os.path.exists(os.path.join(ROOT, doc))}
check(set(texts) >= {"README.md", "CHANGELOG.md"}, "README.md and CHANGELOG.md exist", f"found {sorted(texts)}")
script_re = re.compile(r"snowflake--[\d.]+(?:--[\d.]+)?\.sql")
all_scripts = sorted(install_scripts)
for doc, text in texts.items():
    for name in sorted(set(re.findall(r"postgresql-\d+-snowflake_[^\s`)]*\.deb", text))):
        got = re.fullmatch(r"postgresql-\d+-snowflake_([^_]+)_[a-z0-9]+\.deb", name)
        check(got is not None and got.group(1) == deb_version,
              f"{doc}: {name} is version {deb_version} (debian/changelog)")
    for name in sorted(set(re.findall(r"snowflake-[\d][^\s`)/]*\.zip", text))):
        check(name == f"snowflake-{release}.zip", f"{doc}: {name} is the release archive snowflake-{release}.zip")
    for name in sorted(set(script_re.findall(text))):
        check(name in all_scripts, f"{doc}: {name} exists")
    for paragraph in re.split(r"\n\s*\n", text):
        named = set(script_re.findall(paragraph))
        if len(named) >= 2:
            first = paragraph.strip().splitlines()[0][:60]
            check(named == set(all_scripts), f"{doc}: the list of install scripts at \"{first}...\" is complete",
                  f"missing {sorted(set(all_scripts) - named)}")
if "CHANGELOG.md" in texts:
    newest = re.search(r"^## (\S+)", texts["CHANGELOG.md"], re.M)
    check(newest is not None and newest.group(1) == release, f"CHANGELOG.md's newest entry is {release}",
          f"it is {newest.group(1) if newest else 'missing'}")
if "README.md" in texts:
    api = re.findall(r"^## SQL API \(version ([^)]+)\)", texts["README.md"], re.M)
    check(api == [ext_version], f"README.md's SQL API heading says version {ext_version}", f"it says {api}")
    # GitHub's anchor for that heading, as the table of contents links it.
    anchor = "#sql-api-version-" + ext_version.replace(".", "")
    check(f"]({anchor})" in texts["README.md"], f"README.md's contents link the heading as {anchor}",
          "the link is stale or missing")
makefile_data = re.search(r"^DATA\s*=\s*(.*)$", read("Makefile"), re.M)
check(makefile_data is not None and sorted(makefile_data.group(1).split()) == all_scripts,
      "the Makefile's DATA installs every install script", f"DATA: {makefile_data.group(1) if makefile_data else None}")

print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
