"""The C2SP witness on a real loopback HTTP server, and the box pushing its checkpoints to it."""

import json
import logging
import threading

import pytest
import requests

from logline_generator.witness_push import Witness as PushTarget
from logline_generator.witness_push import parse_witnesses, push_checkpoint
from tests.transparency.support import ORIGIN, make_log, rewrite_history
from transparency.audit import audit
from transparency.witness import SIZE_CONTENT_TYPE, Witness, make_server
from vv_core.errors import VVError
from vv_core.notes import COSIGNATURE_V1, Checkpoint, NoteSigner, sign_note, witnesses_of
from vv_core.tlog import TLOG_DIR, read_checkpoint

NOW = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def serve(witness):
    server = make_server(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def setup(tmp_path):
    log = make_log(tmp_path / "box", 5)
    signer = NoteSigner.from_seed("witness.test/w1", b"\x05" * 32, COSIGNATURE_V1)
    witness = Witness(signer, [log.public_key], tmp_path / "witness", clock=Clock())
    server, url = serve(witness)
    yield log, witness, url, PushTarget(url, signer.verifier_key)
    server.shutdown()
    server.server_close()


def post(url, body):
    return requests.post(f"{url}/add-checkpoint", data=body.encode(), timeout=5)


def test_the_box_collects_a_cosignature_for_each_new_checkpoint(setup):
    log, witness, _url, target = setup
    assert push_checkpoint(log.directory, [target], 3, 60) == ["witness.test/w1"]
    witnessed = read_checkpoint(log.directory, "checkpoint.witnessed")
    assert witnesses_of(witnessed, [target.key]) == [target.key]
    assert audit(log.directory, witnessed, [log.public_key], witness_keys=[target.key], min_witnesses=1).ok
    short = audit(log.directory, log.checkpoint(), [log.public_key], witness_keys=[target.key], min_witnesses=1)
    assert short.problems == ["checkpoint has 0 valid witness cosignature(s), 1 required"]
    log.append(5)
    log.append(6)
    assert push_checkpoint(log.directory, [target], 3, 60) == ["witness.test/w1"]   # with a proof from 5
    assert witness.latest(ORIGIN).size == 7
    assert push_checkpoint(log.directory, [target], 3, 60) == []                    # already cosigned


def test_the_witness_refuses_an_inconsistent_tree_and_keeps_the_evidence(setup, caplog):
    log, witness, url, target = setup
    push_checkpoint(log.directory, [target], 3, 60)
    cosigned = witness.latest(ORIGIN)
    fields = [{"schema_version": "1.0", "id": f"cam1_{i:07d}", "who": "cam1", "did": "detected", "this": "x",
               "when": "2030-01-01T00:00:00Z", "status": "alerta", "title": "T", "summary": "S",
               "source": {"video": f"input/cam1/{i}.mp4", "duration_s": 1.0}, "source_hash": f"{i:064x}"}
              for i in range(6)]
    rewrite_history(log, fields)                  # the key holder signs another history of size 6
    (log.directory / TLOG_DIR / "witnesses.json").write_text(json.dumps({str(target.key): {"size": 5}}))
    with caplog.at_level(logging.WARNING):
        assert push_checkpoint(log.directory, [target], 3, 60) == []
    assert "possible split view" in caplog.text
    assert witness.latest(ORIGIN) == cosigned     # its view did not move
    assert list((witness.state_dir / "evidence").iterdir())
    same_size = sign_note(Checkpoint(ORIGIN, 5, b"\x01" * 32).text(), log.signing.signer)
    answer = post(url, "old 5\n\n" + same_size)
    assert (answer.status_code, answer.text) == (409, "5\n")


def test_the_witness_answers_by_the_protocol(setup):
    log, witness, url, _target = setup
    note = log.checkpoint()
    stale = post(url, "old 3\n\n" + note)
    assert (stale.status_code, stale.headers["content-type"], stale.text) == (409, SIZE_CONTENT_TYPE, "0\n")
    assert post(url, "old 7\n\n" + note).status_code == 400                  # old beyond the checkpoint
    assert post(url, "nonsense").status_code == 400
    stranger = NoteSigner.from_seed("other.test/log", b"\x06" * 32)
    assert post(url, "old 0\n\n" + sign_note(Checkpoint("other.test/log", 1, b"\x00" * 32).text(),
                                              stranger)).status_code == 404
    impostor = NoteSigner.from_seed(ORIGIN, b"\x07" * 32)
    forged = sign_note(Checkpoint(ORIGIN, 9, b"\x00" * 32).text(), impostor)
    assert post(url, "old 0\n\n" + forged).status_code == 403
    first = post(url, "old 0\n\n" + note)
    assert first.status_code == 200 and first.text.startswith("— witness.test/w1 ")
    log.append(5)
    bad_proof = "old 5\n" + "A" * 43 + "=\n\n" + log.checkpoint()
    assert post(url, bad_proof).status_code == 422
    assert witness.latest(ORIGIN).size == 5


def test_a_dead_witness_never_blocks_and_is_retried_later(setup, tmp_path, caplog):
    log, _witness, _url, target = setup
    spare = socket_port()
    dead = PushTarget(f"http://127.0.0.1:{spare}", target.key)
    clock = Clock()
    with caplog.at_level(logging.WARNING):
        assert push_checkpoint(log.directory, [dead], 1, 60, clock=clock) == []
    assert "witness push failed" in caplog.text
    caplog.clear()
    clock.now += 30
    assert push_checkpoint(log.directory, [dead], 1, 60, clock=clock) == []
    assert "witness push failed" not in caplog.text                      # skipped while it rests
    clock.now += 31
    assert push_checkpoint(log.directory, [target], 1, 60, clock=clock) == ["witness.test/w1"]


def socket_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_witness_settings_are_checked():
    key = NoteSigner.from_seed("w", b"\x01" * 32, COSIGNATURE_V1).verifier_key
    assert parse_witnesses(f"http://a:1/ {key}, https://b {key}") == [PushTarget("http://a:1", key),
                                                                      PushTarget("https://b", key)]
    log_key = NoteSigner.from_seed("w", b"\x01" * 32).verifier_key
    for bad in (f"ftp://a {key}", f"http://a {log_key}", "http://a nonsense"):
        with pytest.raises(VVError, match="TRANSPARENCY_WITNESSES"):
            parse_witnesses(bad)
