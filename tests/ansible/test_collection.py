"""The collection as a package: ansible-doc renders every module (DOCUMENTATION, EXAMPLES and
RETURN, with the connection options from the doc fragment), and ansible-galaxy builds the
tarball with every module, module_utils, doc fragment, meta/runtime.yml and the changelog."""
import json
import os
import subprocess
import tarfile

import conftest

MODULES = ["nvme_info", "nvme_namespace", "nvme_feature", "nvme_firmware", "nvme_format",
           "nvme_sanitize", "nvme_selftest", "nvme_zone", "nvme_state"]
DESTRUCTIVE = {"nvme_namespace", "nvme_firmware", "nvme_format", "nvme_sanitize", "nvme_zone",
               "nvme_state"}


def run(tmp_path, *argv):
    out = subprocess.run(argv, env=conftest.ansible_env(tmp_path), cwd=str(tmp_path), text=True,
                         capture_output=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_every_module_is_in_the_collection():
    folder = os.path.join(conftest.COLLECTION, "plugins", "modules")
    got = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py"))
    assert got == sorted(MODULES)


def test_ansible_doc_renders_every_module(tmp_path):
    names = [f"nvmerpc.nvme.{m}" for m in MODULES]
    text = run(tmp_path, "ansible-doc", "-t", "module", *names)
    for name in names:
        assert f"> {name.upper()}" in text, name
    assert text.count("EXAMPLES:") == len(MODULES) and text.count("RETURN VALUES:") == len(MODULES)
    docs = json.loads(run(tmp_path, "ansible-doc", "--json", "-t", "module", *names))
    assert sorted(docs) == sorted(names)
    for name, doc in docs.items():
        options = doc["doc"]["options"]
        assert {"socket", "stdio_command", "timeout"} <= set(options), name
        assert options["socket"]["default"] == "/run/nvmerpcd.sock"
        assert doc["examples"].strip() and doc["return"], name
        assert doc["doc"]["short_description"], name
        short = name.split(".")[-1]
        assert ("force" in options) == (short in DESTRUCTIVE), name
        if "force" in options:
            assert options["force"]["default"] is False, name
    listed = run(tmp_path, "ansible-doc", "-t", "module", "-l", "nvmerpc.nvme")
    assert sorted(line.split()[0] for line in listed.splitlines() if line.strip()) == sorted(names)


def test_ansible_galaxy_builds_the_tarball(tmp_path):
    run(tmp_path, "ansible-galaxy", "collection", "build", "--output-path", str(tmp_path),
        conftest.COLLECTION)
    tarball = tmp_path / "nvmerpc-nvme-1.0.0.tar.gz"
    with tarfile.open(tarball) as tar:
        members = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    for m in MODULES:
        assert f"plugins/modules/{m}.py" in members, m
    for f in ("plugins/module_utils/nvmerpc.py", "plugins/doc_fragments/connection.py",
              "plugins/doc_fragments/destructive.py", "meta/runtime.yml", "README.md",
              "changelogs/changelog.yaml", "FILES.json"):
        assert f in members, f
    assert not any(m.startswith("tests/output") for m in members)
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("nvmerpc", "nvme", "1.0.0")
