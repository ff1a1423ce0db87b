#!/usr/bin/python3
"""Runs ansible-test sanity on the nvmerpc.nvme collection offline, with Debian's ansible-core
2.14 and Debian's pylint, pycodestyle, yamllint and voluptuous.

ansible-test creates one virtual environment per sanity test under ~/.ansible/test/venv and
installs its pinned requirements into it with pip from PyPI, which fails without the network. It
reuses an environment whose directory holds marker.txt (with meta.install.json and
meta.yaml.json beside it), at a path named by a hash of the pip commands it would run
(ansible_test/_internal/commands/sanity/__init__.py, create_sanity_virtualenv). This script asks
ansible-test's own code for those paths and creates each environment beforehand with
--system-site-packages, so the tests run on the Debian packages; then it runs the tests.

    scripts/ansible-sanity.py WORKDIR

WORKDIR (created; the ctest test uses the build directory) holds a copy of the collection at
WORKDIR/ansible_collections/nvmerpc/nvme (ansible-test needs that path, and writes its
tests/output there, not into the source tree) and HOME for the environments. Prints which tests
ran and which were skipped and why; exits with ansible-test's status.
"""
import json
import os
import shutil
import subprocess
import sys

PYTHON = "/usr/bin/python3"
VERSION = "%d.%d" % sys.version_info[:2]
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "ansible",
                      "ansible_collections", "nvmerpc", "nvme")

# Tests left out, and why: their tools are not packaged in Debian 12 (ansible-test would fetch
# them from PyPI). (mypy checks ansible-core itself: 2.14 does not offer it for a collection.)
SKIPPED = {
    "changelog": "antsibull-changelog is not packaged in Debian 12 (changelogs/ is written by "
                 "hand in its format)",
}

# The environments ansible-test asks for: (label passed to create_sanity_virtualenv,
# coverage, minimize). The import test asks for import.module and import.plugin (minimized)
# and, for a collection, import itself (the external Python that turns YAML into JSON).
ENVIRONMENTS = [(name, False, False) for name in (
    "ansible-doc", "import", "pep8", "pylint", "runtime-metadata", "validate-modules",
    "yamllint", "integration-aliases")] + [
    ("import.module", False, True), ("import.plugin", False, True)]


def venv_path(home, label, coverage, minimize):
    """Returns (path, meta.install.json text) ansible-test uses for this environment."""
    from ansible_test._internal.commands.sanity import hash_pip_commands
    from ansible_test._internal.host_configs import NativePythonConfig
    from ansible_test._internal.python_requirements import collect_requirements
    python = NativePythonConfig(version=VERSION, path=PYTHON)
    commands = collect_requirements(python=python, controller=True, virtualenv=False,
                                    command=None, ansible=False, cryptography=False,
                                    coverage=coverage, minimize=minimize, sanity=label)
    name = f"sanity.{label}" if commands else "sanity"
    path = os.path.join(home, ".ansible", "test", "venv", name, VERSION,
                        hash_pip_commands(commands))
    return path, json.dumps([c.serialize() for c in commands], indent=4)


def prime(home):
    """Creates every environment that has no marker yet, on Debian's packages."""
    import yaml
    has_libyaml = hasattr(yaml, "CLoader")
    for label, coverage, minimize in ENVIRONMENTS:
        path, install = venv_path(home, label, coverage, minimize)
        if os.path.exists(os.path.join(path, "marker.txt")):
            continue
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", path],
                       check=True)
        with open(os.path.join(path, "meta.install.json"), "w") as f:
            f.write(install)
        with open(os.path.join(path, "meta.yaml.json"), "w") as f:
            json.dump(has_libyaml, f)
        open(os.path.join(path, "marker.txt"), "w").close()
        print(f"ansible-sanity: created {label} environment {path}")


def copy_collection(workdir):
    dest = os.path.join(workdir, "ansible_collections", "nvmerpc", "nvme")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(SOURCE, dest,
                    ignore=shutil.ignore_patterns("output", "__pycache__", "*.tar.gz"))
    # ansible-test lists the files of the git repository it finds at or above the collection:
    # the copy is a repository of its own, so the project's (where the build directory is
    # ignored) is not the one found.
    subprocess.run(["git", "init", "-q", dest], check=True)
    return dest


def main(workdir):
    workdir = os.path.abspath(workdir)
    home = os.path.join(workdir, "home")
    os.makedirs(home, exist_ok=True)
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    prime(home)
    collection = copy_collection(workdir)
    env = dict(os.environ, HOME=home, ANSIBLE_TEST_PREFER_PODMAN="", PYTHONPATH="",
               ANSIBLE_COLLECTIONS_PATH="")
    argv = ["ansible-test", "sanity", "--python", VERSION, "--color", "no"]
    for test in SKIPPED:
        argv += ["--skip-test", test]
    print("ansible-sanity:", " ".join(argv), flush=True)
    proc = subprocess.run(argv, cwd=collection, env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    print(proc.stdout)
    ran = [line.split('"')[1] for line in proc.stdout.splitlines()
           if line.startswith("Running sanity test")]
    print("ansible-sanity: ran: " + ", ".join(ran))
    for test, why in SKIPPED.items():
        print(f"ansible-sanity: skipped {test}: {why}")
    if "WARNING: Skipping" in proc.stdout or "Skipping sanity test" in proc.stdout:
        print("ansible-sanity: ansible-test skipped some itself (see its WARNING lines)")
    return proc.returncode


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
