"""docs/api.md is generated from the schema and the simulator by tools/gen_api_doc.py (which
runs this daemon): it must be fresh, as the generated clients must."""
import os
import subprocess

from conftest import DAEMON, SOURCE_DIR

GEN = os.path.join(SOURCE_DIR, "tools", "gen_api_doc.py")
API_MD = os.path.join(SOURCE_DIR, "docs", "api.md")
SCHEMA_DIR = os.path.join(SOURCE_DIR, "schema")
PY = "/usr/bin/python3"


def test_api_doc_is_fresh():
    out = subprocess.run([PY, GEN, SCHEMA_DIR, DAEMON, API_MD, "--check"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, ("docs/api.md is stale; run tools/gen_api_doc.py schema "
                                 "build/nvmerpcd docs/api.md\n" + out.stderr)


def test_check_detects_drift(tmp_path):
    doc = tmp_path / "api.md"
    subprocess.run([PY, GEN, SCHEMA_DIR, DAEMON, str(doc)], check=True, timeout=120)
    text = doc.read_text()
    assert subprocess.run([PY, GEN, SCHEMA_DIR, DAEMON, str(doc), "--check"],
                          timeout=120).returncode == 0
    doc.write_text(text.replace('"sn": "NRSIM0000000001"', '"sn": "SOMETHINGELSE"', 1))
    assert subprocess.run([PY, GEN, SCHEMA_DIR, DAEMON, str(doc), "--check"],
                          capture_output=True, timeout=120).returncode == 1


def test_every_method_is_documented_with_an_example():
    text = open(API_MD).read()
    methods = [f for f in os.listdir(os.path.join(SCHEMA_DIR, "methods")) if f.endswith(".json")]
    for f in methods:
        name = f[:-len(".json")]
        section = text.split(f"\n## {name}\n", 1)
        assert len(section) == 2, f"{name} has no section"
        body = section[1].split("\n## ", 1)[0]
        for heading in ("### Parameters", "### Result", "### Errors", "### Example"):
            assert heading in body, (name, heading)
        assert f'"method":"{name}"' in body, f"{name}: no example request"
