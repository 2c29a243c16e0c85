"""/transparency/*: public, read-only, and every proof it serves verifies against its checkpoint."""

import base64

from tests.transparency.support import make_log
from vv_core.merkle import verify_consistency, verify_inclusion
from vv_core.notes import open_checkpoint


def decode(hashes):
    return [base64.b64decode(h) for h in hashes]


def test_an_auditor_without_credentials_gets_the_checkpoint_and_proofs(client, api_settings, tmp_path):
    assert client.get("/transparency/checkpoint").status_code == 404        # nothing signed yet
    log = make_log(tmp_path, 6, directory=api_settings.storage.loglines)
    answer = client.get("/transparency/checkpoint")                          # no token, no cookie
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    checkpoint = open_checkpoint(answer.text, [log.public_key])[0]
    assert checkpoint.size == 6

    logline_id = "cam2_0000002"
    proof = client.get("/transparency/proof/inclusion", params={"id": logline_id}).json()
    leaf = base64.b64decode(proof["leaf_hash"])
    verify_inclusion(proof["leaf_index"], proof["tree_size"], leaf, decode(proof["proof"]), checkpoint.root)
    by_index = client.get("/transparency/proof/inclusion", params={"index": 2, "size": 6}).json()
    assert by_index["proof"] == proof["proof"]

    log.append(6)
    newer = open_checkpoint(client.get("/transparency/checkpoint").text, [log.public_key])[0]
    body = client.get("/transparency/proof/consistency", params={"old": 6}).json()
    assert body["new_size"] == 7
    verify_consistency(6, 7, checkpoint.root, newer.root, decode(body["proof"]))


def test_bad_requests_get_one_clear_answer(client, api_settings, tmp_path):
    make_log(tmp_path, 3, directory=api_settings.storage.loglines)
    assert client.get("/transparency/proof/inclusion", params={"id": "nope"}).status_code == 404
    assert client.get("/transparency/proof/inclusion", params={"id": "../../secrets"}).status_code == 404
    assert client.get("/transparency/proof/inclusion").status_code == 400
    assert client.get("/transparency/proof/inclusion", params={"index": 5}).status_code == 404
    assert client.get("/transparency/proof/consistency", params={"old": 4}).status_code == 404
    assert client.get("/transparency/proof/consistency", params={"old": -1}).status_code == 422
    assert client.post("/transparency/checkpoint").status_code in (401, 405)   # read-only
