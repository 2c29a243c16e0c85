"""scripts/logline_verifier.py: every kind of damage to a LogLine chain is found and named."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.helpers import repo_env
from tests.logline_fixtures import fast_chain, make_key_store
from transparency.verifier import check_file, run_verify, verify_directory, verify_paths
from vv_core.canonical import canonical_json
from vv_core.keystore import load_key_store, rotate_key_store
from vv_core.loglines import (
    BAD_HEAD,
    BAD_SIGNATURE,
    BROKEN_PREV_HASH,
    DUPLICATE_SEQ,
    HEAD_FILE,
    ID_MISMATCH,
    MISSING_HEAD,
    MISSING_SEQ,
    NOT_CANONICAL,
    REORDERED,
    SCHEMA,
    TRUNCATED,
    UNKNOWN_KEY,
    UNREADABLE,
    analyze_chain,
    check_logline_bytes,
    encode_logline,
    link_hash,
    logline_filename,
    seal_logline,
)
from vv_core.schema import fast_validator, load_schema

CHAIN_LENGTH = 10_000


@pytest.fixture(scope="module")
def big_chain(tmp_path_factory):
    """A 10,000-LogLine chain written by the real sealing function (no subprocesses)."""
    base = tmp_path_factory.mktemp("big_chain")
    key_store = make_key_store(base / "keys.json")
    directory = base / "loglines"
    records = fast_chain(directory, CHAIN_LENGTH, key_store)
    paths = [str(directory / logline_filename(r["id"])) for r in records]
    raws = [Path(p).read_bytes() for p in paths]
    entries = [(p, check_logline_bytes(raw, key_store)) for p, raw in zip(paths, raws, strict=True)]
    return {"dir": directory, "keys": key_store, "records": records, "paths": paths, "raws": raws,
            "entries": entries}


def reasons(report) -> set[str]:
    return {p.reason for p in report.problems}


@pytest.mark.slow
def test_intact_10k_chain_verifies(big_chain):
    report = verify_directory(big_chain["dir"], big_chain["keys"])
    assert report.ok, report.problems[:3]
    assert report.checked == CHAIN_LENGTH
    assert all(checked.ok for _, checked in big_chain["entries"])


@pytest.mark.slow
def test_every_single_byte_edit_of_one_record_is_detected(big_chain):
    """Exhaustive over one record: every position × 3 replacement bytes, plus all 255 at 25 positions."""
    raw = big_chain["raws"][4321]
    keys = big_chain["keys"]
    rng = random.Random(4)
    undetected = []
    for position in range(len(raw)):
        original = raw[position]
        for replacement in {original ^ 0x01, original ^ 0x20, rng.randrange(256)} - {original}:
            mutated = raw[:position] + bytes([replacement]) + raw[position + 1:]
            if check_logline_bytes(mutated, keys).ok:
                undetected.append((position, replacement))
    for position in rng.sample(range(len(raw)), 25):
        for replacement in range(256):
            if replacement != raw[position]:
                mutated = raw[:position] + bytes([replacement]) + raw[position + 1:]
                if check_logline_bytes(mutated, keys).ok:
                    undetected.append((position, replacement))
    assert undetected == []


def test_every_single_byte_deletion_and_insertion_of_one_record_is_detected(big_chain):
    raw = big_chain["raws"][17]
    keys = big_chain["keys"]
    for position in range(len(raw)):
        assert not check_logline_bytes(raw[:position] + raw[position + 1:], keys).ok, position
        assert not check_logline_bytes(raw[:position] + b" " + raw[position:], keys).ok, position


@pytest.mark.slow
def test_random_byte_edits_across_the_chain_are_detected(big_chain):
    """3,000 random (record, position, byte) edits anywhere in the 10k chain."""
    rng = random.Random(10_000)
    keys = big_chain["keys"]
    for _ in range(3000):
        index = rng.randrange(CHAIN_LENGTH)
        raw = big_chain["raws"][index]
        position = rng.randrange(len(raw))
        replacement = rng.choice([b for b in range(256) if b != raw[position]])
        mutated = raw[:position] + bytes([replacement]) + raw[position + 1:]
        assert not check_logline_bytes(mutated, keys).ok, (index, position, replacement)


def test_whitespace_only_edit_is_reported_as_not_canonical(big_chain):
    record = big_chain["records"][3]
    reformatted = json.dumps(record, indent=2).encode()
    checked = check_logline_bytes(reformatted, big_chain["keys"])
    assert checked.reason == NOT_CANONICAL


@pytest.mark.slow
def test_deleting_any_record_is_detected(big_chain):
    entries = big_chain["entries"]
    last = big_chain["records"][-1]
    from vv_core.loglines import ChainHead

    head = ChainHead(last["seq"], link_hash(last), last["id"])
    rng = random.Random(7)
    for index in [0, 1, CHAIN_LENGTH // 2, CHAIN_LENGTH - 1, *rng.sample(range(CHAIN_LENGTH), 8)]:
        problems = analyze_chain(entries[:index] + entries[index + 1:], head)
        assert problems, f"deletion of seq {index} not detected"
        expected = TRUNCATED if index == CHAIN_LENGTH - 1 else MISSING_SEQ
        assert expected in {p.reason for p in problems}


def test_swapping_any_two_records_is_detected(big_chain, tmp_path):
    rng = random.Random(11)
    keys = big_chain["keys"]
    pairs = [(5, 6), (0, CHAIN_LENGTH - 1)] + [tuple(rng.sample(range(CHAIN_LENGTH), 2)) for _ in range(60)]
    for first, second in pairs:
        # file A now holds B's bytes: the file name no longer matches the record it holds
        target = tmp_path / Path(big_chain["paths"][first]).name
        target.write_bytes(big_chain["raws"][second])
        _, problems = check_file(target, keys)
        target.unlink()
        assert ID_MISMATCH in {p.reason for p in problems}


def test_damage_in_a_real_directory_is_reported_per_file(tmp_path):
    keys = make_key_store(tmp_path / "keys.json")
    directory = tmp_path / "loglines"
    records = fast_chain(directory, 12, keys)
    path = {r["seq"]: directory / logline_filename(r["id"]) for r in records}
    # edit seq 2, delete seq 5, swap the files of seq 8 and 9
    edited = path[2].read_bytes().replace(b'"did":"detected"', b'"did":"deleted!"')
    path[2].write_bytes(edited)
    path[5].unlink()
    eight, nine = path[8].read_bytes(), path[9].read_bytes()
    path[8].write_bytes(nine)
    path[9].write_bytes(eight)
    report = verify_directory(directory, keys)
    found = {(Path(p.file).name, p.reason) for p in report.problems}
    assert (path[2].name, BAD_SIGNATURE) in found
    assert (path[3].name, BROKEN_PREV_HASH) in found          # its predecessor's hash changed
    assert (path[6].name, MISSING_SEQ) in found
    assert (path[8].name, ID_MISMATCH) in found and (path[9].name, ID_MISMATCH) in found


def test_duplicate_reordered_and_genesis_problems(tmp_path):
    keys = make_key_store(tmp_path / "keys.json")
    directory = tmp_path / "loglines"
    records = fast_chain(directory, 4, keys)
    # a fork: a second, validly signed record at seq 3
    fork = seal_logline({**records[3], "id": "fork_3"}, seq=3, prev_hash=records[3]["prev_hash"],
                        key_store=keys)
    (directory / logline_filename("fork_3")).write_bytes(encode_logline(fork))
    # a record at seq 4 that links to seq 1 instead of seq 3
    jump = seal_logline({**records[0], "id": "jump_4"}, seq=4, prev_hash=link_hash(records[1]),
                        key_store=keys)
    (directory / logline_filename("jump_4")).write_bytes(encode_logline(jump))
    report = verify_directory(directory, keys)
    by_reason = {p.reason: Path(p.file).name for p in report.problems}
    assert DUPLICATE_SEQ in by_reason
    assert by_reason[REORDERED] == "jump_4.logline.json"
    # a genesis record that does not start from 64 zeros
    bad_genesis = seal_logline(records[0], seq=0, prev_hash="1" * 64, key_store=keys)
    (directory / logline_filename(records[0]["id"])).write_bytes(encode_logline(bad_genesis))
    assert BROKEN_PREV_HASH in reasons(verify_directory(directory, keys))


def test_head_problems(tmp_path):
    keys = make_key_store(tmp_path / "keys.json")
    directory = tmp_path / "loglines"
    fast_chain(directory, 3, keys)
    head = directory / HEAD_FILE
    document = json.loads(head.read_text())
    document["seq"] = 1  # points at a record with another hash
    head.write_text(json.dumps(document))
    assert BAD_HEAD in reasons(verify_directory(directory, keys))  # signature broken
    head.unlink()
    assert reasons(verify_directory(directory, keys)) == {MISSING_HEAD}


def test_unknown_key_schema_and_unreadable_files(tmp_path):
    store_path = tmp_path / "keys.json"
    keys = make_key_store(store_path, "old")
    directory = tmp_path / "loglines"
    records = fast_chain(directory, 2, keys)
    other = make_key_store(tmp_path / "other.json", "stranger")
    assert reasons(verify_directory(directory, other)) >= {UNKNOWN_KEY}
    (directory / "junk.logline.json").write_bytes(b"{not json")
    broken = dict(records[1], seq=-1)
    (directory / "neg.logline.json").write_bytes(canonical_json(broken) + b"\n")
    found = reasons(verify_directory(directory, keys))
    assert {UNREADABLE, SCHEMA} <= found
    report = verify_paths([tmp_path / "missing"], keys)
    assert reasons(report) == {UNREADABLE}


def test_rotation_keeps_old_loglines_verifiable(tmp_path):
    store_path = tmp_path / "keys.json"
    old = make_key_store(store_path, "2026-05-a")
    directory = tmp_path / "loglines"
    records = fast_chain(directory, 3, old, write_head=False)
    new = rotate_key_store(store_path, "2026-11-a")
    fresh = seal_logline({**records[0], "id": "after_rotation"}, seq=3, prev_hash=link_hash(records[2]),
                         key_store=new)
    assert fresh["key_id"] == "2026-11-a"
    (directory / logline_filename("after_rotation")).write_bytes(encode_logline(fresh))
    report = verify_directory(directory, load_key_store(store_path))
    assert reasons(report) == {MISSING_HEAD}  # every record verifies, old and new key alike


@pytest.mark.slow
def test_fast_schema_validator_is_never_weaker_than_jsonschema(big_chain):
    """Differential check on 1,000 mutated documents: fast accepts ⇒ jsonschema accepts."""
    checker = Draft202012Validator.FORMAT_CHECKER
    reference = Draft202012Validator(load_schema("logline"), format_checker=checker)
    fast = fast_validator("logline")
    rng = random.Random(2)
    base = big_chain["records"][0]
    odd_values = [None, True, 1, -1, 1.5, "", "x" * 5000, [], {}, "2026-13-99T99:99:99Z", "0" * 63,
                  "A" * 64, "cam1\n", "confirmado", "1.0", 0]
    agree = 0
    for _ in range(1000):
        document = json.loads(json.dumps(base))
        for _ in range(rng.randint(1, 2)):
            nested = isinstance(document.get("source"), dict) and rng.random() < 0.2
            target = document["source"] if nested else document
            key = rng.choice([*target.keys(), "extra"])
            if rng.random() < 0.15:
                target.pop(key, None)
            else:
                target[key] = rng.choice(odd_values)
        fast_ok, reference_ok = _accepts(fast, document), reference.is_valid(document)
        assert reference_ok or not fast_ok, document
        agree += fast_ok == reference_ok
    assert agree > 950  # they only differ on "$" before a trailing newline (fast is stricter)


def _accepts(validator, document) -> bool:
    try:
        validator(document)
    except Exception:
        return False
    return True


@pytest.mark.slow
def test_verify_cli_text_json_and_exit_codes(tmp_path):
    store_path = tmp_path / "keys.json"
    keys = make_key_store(store_path)
    directory = tmp_path / "storage" / "loglines"
    records = fast_chain(directory, 5, keys)
    env = repo_env(VIDEO_STORAGE_ROOT=str(tmp_path / "storage"), KEY_STORE_PATH=str(store_path))
    ok = subprocess.run([sys.executable, "-m", "vv_cli.main", "verify"], env=env, capture_output=True,
                        text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "OK: 5 LogLine(s) verified" in ok.stdout
    victim = directory / logline_filename(records[2]["id"])
    victim.write_bytes(victim.read_bytes().replace(b'"seq":2', b'"seq":7'))
    script = ["scripts/logline_verifier.py", str(directory), "--json", "--jobs", "1"]
    bad = subprocess.run([sys.executable, *script],
                         env=env, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[2])
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False and report["checked"] == 5
    assert {p["reason"] for p in report["problems"]} >= {BAD_SIGNATURE}
    assert any(p["file"] == str(victim) for p in report["problems"])
    no_keys = subprocess.run([sys.executable, "-m", "vv_cli.main", "verify", str(victim)],
                             env={**env, "KEY_STORE_PATH": str(tmp_path / "nope.json")},
                             capture_output=True, text=True, check=False)
    assert no_keys.returncode == 1 and no_keys.stderr.startswith("error: key store not found")


def test_run_verify_single_file_ok(tmp_path, capsys):
    store_path = tmp_path / "keys.json"
    keys = make_key_store(store_path)
    records = fast_chain(tmp_path / "l", 1, keys)
    assert run_verify([tmp_path / "l" / logline_filename(records[0]["id"])], False, store_path, tmp_path) == 0
    assert "OK: 1" in capsys.readouterr().out


def test_parallel_and_serial_checks_report_the_same(tmp_path, monkeypatch):
    import transparency.verifier as verifier

    keys = make_key_store(tmp_path / "keys.json")
    directory = tmp_path / "loglines"
    records = fast_chain(directory, 9, keys)
    victim = directory / logline_filename(records[4]["id"])
    victim.write_bytes(victim.read_bytes().replace(b"Event", b"Evil!"))
    serial = verify_directory(directory, keys, jobs=1)
    monkeypatch.setattr(verifier, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(verifier, "CHUNK_FILES", 3)
    parallel = verify_directory(directory, keys, jobs=2)
    assert parallel.problems == serial.problems and parallel.checked == serial.checked == 9
    assert {p.reason for p in serial.problems} == {BAD_SIGNATURE, BROKEN_PREV_HASH}
