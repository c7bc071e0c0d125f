#!/usr/bin/env python3
"""make docs-check: the documentation against the code, so that it cannot go
stale (make check and make test run it).

1. Every message the extension raises is in docs/troubleshooting.md:
   - the format string of every errmsg() and elog() in src/pg/ (C string
     literals joined as the compiler joins them, across lines and around
     UINT64_FORMAT);
   - the texts the core hands to those messages through a Status ("could not
     fsync the state file", "the checksum does not match", ...): every
     sentence-like literal of the state file, its store and the reservation
     (src/core/state_file.cpp, posix_state_store.cpp, reservation.cpp), and
     every Status::Error text made in src/pg/;
   - every RAISE ... MESSAGE = format('...') of the SQL scripts.
   A format specifier (%s, %d, %lld, %m, UINT64_FORMAT) matches any text on
   the same line, so the index writes `system clock is N ms behind ...`.
2. Every SQLSTATE raised (errcode(ERRCODE_...) in src/pg/, ERRCODE = '...'
   in the SQL scripts) is named in docs/troubleshooting.md, as five
   characters (`55000`), read from PostgreSQL's utils/errcodes.h.
3. Every text in the code that cites a section, `"Section" in docs/x.md`
   (or "in the snowflake README"), names a heading that exists in that file.

Prints one line per failure and a count; exits 1 on a failure.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INDEX = "docs/troubleshooting.md"
failures = []
checked = {"messages": 0, "core texts": 0, "SQL messages": 0, "SQLSTATEs": 0, "section citations": 0}


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def strip_comments(code):
    """C and C++ comments out, string literals kept."""
    out, i, n = [], 0, len(code)
    while i < n:
        c = code[i]
        if c in "\"'":  # a string or character literal, to its closing quote
            j = i + 1
            while code[j] != c:
                j += 2 if code[j] == "\\" else 1
            out.append(code[i:j + 1])
            i = j + 1
        elif code.startswith("//", i):
            i = code.find("\n", i)
            i = n if i < 0 else i
        elif code.startswith("/*", i):
            end = code.index("*/", i) + 2
            out.append(" " + "\n" * code.count("\n", i, end))  # line numbers stay right
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


SPEC = "\x00"  # a format specifier, in a decoded format string


def c_format_at(code, pos):
    """The format string that starts at code[pos]: adjacent string literals
    and UINT64_FORMAT-like macros, joined; specifiers become SPEC."""
    parts = []
    token = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([A-Z][A-Z0-9_]*FORMAT))')
    while True:
        m = token.match(code, pos)
        if not m:
            break
        if m.group(2):
            parts.append(SPEC)
        else:
            text = m.group(1).encode().decode("unicode_escape")
            parts.append(re.sub(r"%[-+ #0-9.]*(?:ll|l|z|h)?[diouxXsmcfgp]", SPEC, text).replace("%%", "%"))
        pos = m.end()
    return "".join(parts) if parts else None


def pattern_of(fmt):
    """A regex matching fmt in the docs, a specifier matching any text on the line."""
    return re.compile("[^\n]*?".join(re.escape(p) for p in fmt.split(SPEC)))


index = read(INDEX)


def require(fmt, kind, where):
    checked[kind] += 1
    if not pattern_of(fmt).search(index):
        failures.append(f"{where}: {kind[:-1]} not in {INDEX}: \"{fmt.replace(SPEC, '%')}\"")


# ---- 1. messages of src/pg/ ----------------------------------------------
texts = []  # (format string, where): every errmsg/errdetail/errhint text, for 3.
glue = sorted(glob.glob(os.path.join(ROOT, "src/pg/*.cpp")))
for path in glue:
    rel = os.path.relpath(path, ROOT)
    code = strip_comments(read(rel))
    for m in re.finditer(r"\b(errmsg|errmsg_internal|errdetail|errdetail_log|errhint|elog)\s*\(", code):
        pos = m.end()
        if m.group(1) == "elog":
            level = re.match(r"\s*(\w+)\s*,", code[pos:])
            if not level:
                continue
            pos += level.end()
        fmt = c_format_at(code, pos)
        if fmt is None:
            continue  # a variable: its literal is checked where it is made
        line = code.count("\n", 0, m.start()) + 1
        texts.append((fmt, f"{rel}:{line}"))
        if m.group(1) in ("errmsg", "errmsg_internal", "elog"):
            require(fmt, "messages", f"{rel}:{line}")
    # Every run of adjacent literals, for 3. (a hint kept in a variable, too).
    for m in re.finditer(r'(?:"(?:[^"\\]|\\.)*"\s*)+', code):
        if not code[:m.start()].rstrip().endswith("#include"):
            texts.append((c_format_at(code, m.start()), f"{rel}:{code.count(chr(10), 0, m.start()) + 1}"))
    for m in re.finditer(r"Status::Error\(\s*[\w:]+\s*,", code):
        fmt = c_format_at(code, m.end())
        if fmt:
            require(fmt, "core texts", f"{rel}:{code.count(chr(10), 0, m.start()) + 1}")

# ---- 1. the core's texts that reach those messages -----------------------
for rel in ("src/core/state_file.cpp", "src/core/posix_state_store.cpp", "src/core/reservation.cpp"):
    code = strip_comments(read(rel))
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', code):
        text = m.group(1)
        if " " in text and "%" not in text and not code[:m.start()].rstrip().endswith("#include"):
            require(text, "core texts", f"{rel}:{code.count(chr(10), 0, m.start()) + 1}")

# ---- 1. and 2. the SQL scripts ------------------------------------------
sql_codes = set()
for rel in sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "snowflake--*.sql"))):
    sql = read(rel)
    for m in re.finditer(r"MESSAGE\s*=\s*format\('((?:[^']|'')*)'", sql):
        fmt = re.sub(r"%[sIL]", SPEC, m.group(1).replace("''", "'"))
        require(fmt, "SQL messages", f"{rel}:{sql.count(chr(10), 0, m.start()) + 1}")
    for m in re.finditer(r"ERRCODE\s*=\s*'(\w+)'", sql):
        sql_codes.add(m.group(1))
    for m in re.finditer(r"HINT\s*=\s*(?:format\()?'((?:[^']|'')*)'", sql):
        texts.append((m.group(1).replace("''", "'"), rel))

# ---- 2. SQLSTATEs ---------------------------------------------------------
try:
    includedir = subprocess.run([os.environ.get("PG_CONFIG", "pg_config"), "--includedir-server"], capture_output=True, text=True,
                                check=True).stdout.strip()
    errcodes_h = open(os.path.join(includedir, "utils/errcodes.h"), encoding="utf-8").read()
except (OSError, subprocess.CalledProcessError) as e:
    failures.append(f"PostgreSQL's utils/errcodes.h not found through pg_config: {e}")
    errcodes_h = ""
sqlstate = {}
for m in re.finditer(r"#define ERRCODE_(\w+)\s+MAKE_SQLSTATE\('(.)',\s*'(.)',\s*'(.)',\s*'(.)',\s*'(.)'\)", errcodes_h):
    sqlstate[m.group(1)] = "".join(m.group(i) for i in range(2, 7))
raised = {}
for path in glue + [os.path.join(ROOT, "src/pg/errors.h")]:
    for name in re.findall(r"\bERRCODE_([A-Z_]+)", strip_comments(read(os.path.relpath(path, ROOT)))):
        raised.setdefault(name, os.path.relpath(path, ROOT))
for name in sql_codes:
    raised.setdefault(name.upper(), "snowflake--*.sql")
for name, where in sorted(raised.items()):
    if not errcodes_h:
        break
    checked["SQLSTATEs"] += 1
    code = sqlstate.get(name)
    if code is None:
        failures.append(f"{where}: ERRCODE_{name} is not in PostgreSQL's utils/errcodes.h")
    elif f"`{code}`" not in index:
        failures.append(f"{where}: SQLSTATE {code} (ERRCODE_{name}) is not named in {INDEX} as `{code}`")

# ---- 3. sections cited by the code ---------------------------------------
def headings(rel):
    try:
        text = read(rel)
    except OSError:
        return None
    return {re.sub(r"[`*]", "", h).strip() for h in re.findall(r"^#+\s+(.+?)\s*#*$", text, re.M)}


cite = re.compile(r'"([^"]+)" in (?:the snowflake (README)|(docs/[\w./-]+\.md|README\.md))')
cited = {}
for fmt, where in texts:
    cited.setdefault(fmt, where)
for fmt, where in sorted(cited.items(), key=lambda item: item[1]):
    for m in cite.finditer(fmt):
        checked["section citations"] += 1
        section, target = m.group(1), "README.md" if m.group(2) else m.group(3)
        found = headings(target)
        if found is None:
            failures.append(f"{where}: cites {target}, which does not exist")
        elif section not in found:
            failures.append(f"{where}: cites \"{section}\" in {target}, which has no such heading")
    if re.search(r"\bREADME\b|docs/", fmt) and not cite.search(fmt):
        checked["section citations"] += 1
        failures.append(f"{where}: names the documentation without a section as \"Section\" in docs/x.md: "
                        f"\"{fmt.replace(SPEC, '%')}\"")

for f in failures:
    print("FAILED  " + f)
print("docs-check: " + ", ".join(f"{n} {k}" for k, n in checked.items()) + f" checked; {len(failures)} failed")
sys.exit(1 if failures else 0)
