"""End to end through `vv`: bootstrap, a witness on loopback, LogLines, proofs, an outsider's audit."""

import json
import shutil
import subprocess
import sys

import pytest

from tests.logline_fixtures import summary_doc, write_summary
from vv_core.tlog import TLOG_DIR

ORIGIN = "vv.test/box1"


def run_vv(*args, env, check=True):
    result = subprocess.run([sys.executable, "-m", "vv_cli.main", *map(str, args)], capture_output=True,
                            text=True, env=env, check=False, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def witness(cli_env, tmp_path):
    env = dict(cli_env, WITNESS_KEY_STORE_PATH=str(tmp_path / "w" / "keys.json"),
               WITNESS_STATE_DIR=str(tmp_path / "w" / "state"), WITNESS_NAME="witness.test/w1")
    return env


def test_an_outsider_audits_the_box_with_its_public_key_only(cli_env, witness, storage_root, tmp_path):
    env = dict(cli_env, TRANSPARENCY_ORIGIN=ORIGIN)
    run_vv("bootstrap", "--no-fallback", env=env)
    public_key = run_vv("keys", "public", env=env).stdout.strip()
    assert public_key.startswith(ORIGIN + "+")
    server = subprocess.Popen([sys.executable, "-m", "vv_cli.main", "witness", "serve", "--port", "0"],
                              env=dict(witness, WITNESS_LOGS=public_key), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        banner = server.stdout.readline().split()           # witness <vkey> on http://host:port
        witness_key, url = banner[1], banner[3]
        env["TRANSPARENCY_WITNESSES"] = f"{url} {witness_key}"
        for name in ("cam1_a", "cam1_b", "cam1_c"):
            run_vv("logline", write_summary(storage_root, summary_doc(name)), env=env)
        loglines = storage_root / "loglines"
        kept = tmp_path / "kept.checkpoint"
        shutil.copy(loglines / TLOG_DIR / "checkpoint", kept)    # what an auditor keeps
        for name in ("cam1_d", "cam1_e"):
            run_vv("logline", write_summary(storage_root, summary_doc(name)), env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)

    proof = json.loads(run_vv("proof", "cam1_b", env=env).stdout)
    assert (proof["leaf_index"], proof["tree_size"]) == (1, 5)
    (tmp_path / "proof.json").write_text(run_vv("proof", "--consistency", 3, 5, env=env).stdout)
    witnessed = loglines / TLOG_DIR / "checkpoint.witnessed"
    audit = ["verify", "--public-key", public_key, "--checkpoint", witnessed, "--since", kept,
             "--witness", witness_key, "--min-witnesses", "1"]
    result = run_vv(*audit, env=env)
    assert result.stdout.strip().endswith("OK: 5 LogLine(s) match checkpoint 5, cosigned by witness.test/w1")
    only_checkpoints = run_vv("verify", "--public-key", public_key, "--checkpoint", witnessed, "--since", kept,
                              "--consistency-proof", tmp_path / "proof.json", env=env)
    assert only_checkpoints.stdout.startswith("OK")
    assert run_vv(*audit[:-2], "--min-witnesses", "2", env=env, check=False).returncode == 1

    victim = loglines / "cam1_b.logline.json"
    victim.write_bytes(victim.read_bytes().replace(b"Summary of cam1_b", b"Summary of cam1_X"))
    tampered = run_vv(*audit, env=env, check=False)
    assert tampered.returncode == 1 and "do not hash to the root of checkpoint 5" in tampered.stdout
    bad = run_vv("verify", "--public-key", "nonsense", "--checkpoint", witnessed, env=env, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and len(bad.stderr.splitlines()) == 1

    run_vv("keys", "rotate-checkpoint", "c2", env=env)
    keys = run_vv("keys", "public", "--all", env=env).stdout.split()
    assert len(keys) == 2 and keys[1] == public_key      # the new key first, the old one still listed
    victim.write_bytes(victim.read_bytes().replace(b"cam1_X", b"cam1_b"))
    old_checkpoint = run_vv("verify", "--public-key", keys[0], "--public-key", keys[1], "--checkpoint", kept,
                            env=env)
    assert "OK" in old_checkpoint.stdout
