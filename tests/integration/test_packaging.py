"""The packaged configuration (packaging/nvmerpcd.json, /etc/nvmerpcd/nvmerpcd.json in the
Debian package) is accepted as shipped and with its commented-out policy enabled."""
import json
import os
import subprocess

from conftest import DAEMON, SOURCE_DIR

PACKAGED = os.path.join(SOURCE_DIR, "packaging", "nvmerpcd.json")


def load(tmp_path, doc):
    """Starts the daemon on @doc over stdio with no input: exit 0 when the config is good."""
    path = tmp_path / "nvmerpcd.json"
    path.write_text(json.dumps(doc))
    return subprocess.run([DAEMON, "--stdio", "--simulate", "--no-passthru", "--config",
                           str(path)], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=20)


def test_packaged_config_is_accepted_as_shipped(tmp_path):
    with open(PACKAGED) as f:
        doc = json.load(f)
    assert "//policy" in doc and "policy" not in doc
    out = load(tmp_path, doc)
    assert out.returncode == 0, out.stderr


def test_packaged_policy_example_is_accepted_once_uncommented(tmp_path):
    with open(PACKAGED) as f:
        text = f.read()
    # The package creates the nvmerpc group; this host may not have it.
    doc = json.loads(text.replace('"//policy"', '"policy"').replace('"nvmerpc"]', '"root"]'))
    out = load(tmp_path, doc)
    assert out.returncode == 0, out.stderr


def test_only_top_level_comment_members_are_ignored(tmp_path):
    assert load(tmp_path, {"//": "a comment", "//mi": {"bogus": 1}}).returncode == 0
    out = load(tmp_path, {"policy": {"//write": "any"}})
    assert out.returncode == 1 and "policy.//write: unknown key" in out.stderr, out.stderr
