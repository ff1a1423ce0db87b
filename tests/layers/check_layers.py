#!/usr/bin/python3
"""The layering rule of docs/architecture.md, checked on every build's tests:
no file under src/ outside src/backends/ includes a backend's header or names
a backend's vtable. KNOWN lists the places that still do (issue 11's open
work); the check fails on any new one, and on a KNOWN entry that no longer
needs its exception, so the list only shrinks."""
import os
import re
import sys

SRC = os.path.join(sys.argv[1] if len(sys.argv) > 1 else
                   os.path.join(os.path.dirname(__file__), "..", ".."), "src")
INCLUDE = re.compile(r'#include\s+"backends/[^"]+"')
VTABLE = re.compile(r"\bnr_(mi|mi_ep|passthru|sim)_ops\b")
KNOWN = set()  # nothing left: keep it so


def offenders():
    found = {}
    for dirpath, _, files in os.walk(SRC):
        rel_dir = os.path.relpath(dirpath, SRC)
        if rel_dir.split(os.sep)[0] == "backends":
            continue
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            rel = os.path.normpath(os.path.join(rel_dir, name))
            with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                text = f.read()
            hits = INCLUDE.findall(text) + [m.group(0) for m in VTABLE.finditer(text)]
            if hits:
                found[rel] = hits
    return found


def main():
    found = offenders()
    new = {k: v for k, v in found.items() if k not in KNOWN}
    stale = sorted(KNOWN - set(found))
    for rel, hits in sorted(new.items()):
        print(f"src/{rel}: names a backend outside src/backends: {', '.join(sorted(set(hits)))}")
    for rel in stale:
        print(f"src/{rel}: no longer names a backend: drop it from KNOWN in {__file__}")
    print(f"layers: {len(found)} known exception(s), {len(new)} new, {len(stale)} stale")
    return 1 if new or stale else 0


if __name__ == "__main__":
    sys.exit(main())
