"""tv_api and the nginx front under load, with wrk on loopback; one run, printed as a table.

    python benchmarks/bench_api.py [SECONDS_PER_RUN]      (default 10; needs wrk, nginx, openssl)

Runs, each SECONDS long, against the same 20-item playlist file:
  1. nginx serving the playlist file with no auth (baseline of the front)
  2. the production front: nginx proxying the playlist to tv_api, which checks the token and
     serves its validated copy (since issue 23: a broken file is a 503 there, never a 200 from disk)
  3. tv_api alone (uvicorn, uvloop + httptools, one process), Bearer device token
Targets (issue 6): run 3 ≥ 2,000 req/s with p99 ≤ 20 ms; run 2 ≥ 50 % of run 1's req/s.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "vv-core")]

from tests.tv_api.support import ApiProcess, NginxProcess, free_port, item, write_playlist  # noqa: E402
from tv_api.auth.store import TokenRegistry, load_jwt_secret  # noqa: E402
from tv_api.auth.tokens import TokenService  # noqa: E402
from vv_cli.settings import Settings  # noqa: E402
from vv_core.storage import StorageLayout  # noqa: E402

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: int, connections: int, token: str | None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    total = int(re.search(r"(\d+) requests in", output).group(1))
    return {"rps": rps, "p50_ms": float(p50.group(1)) * UNIT[p50.group(2)],
            "p99_ms": float(p99.group(1)) * UNIT[p99.group(2)], "requests": total,
            "errors": int(non2xx.group(1)) if non2xx else 0}


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for tool in ("wrk", "nginx", "openssl"):
        if shutil.which(tool) is None:
            sys.exit(f"error: {tool} is not installed (make setup installs it)")
    with tempfile.TemporaryDirectory(prefix="vv-bench-api-") as scratch:
        base = Path(scratch)
        layout = StorageLayout(base / "storage")
        layout.ensure()
        items = [item(f"cam1_2026112{i % 10}T10{i:02d}00Z", f"/media/processed/cam1/{i:02d}.mp4", seq=i)
                 for i in range(20)]
        playlist = write_playlist(layout.root, "tv1", items)
        settings = Settings(video_storage_root=layout.root, tv_api_secrets_dir=base / "secrets")
        token, _ = TokenService(load_jwt_secret(settings), TokenRegistry(base / "secrets")).issue_device_token(
            "bench-tv", 86400)
        api = ApiProcess({"VIDEO_STORAGE_ROOT": str(layout.root), "TV_API_SECRETS_DIR": str(base / "secrets"),
                          "LOG_LEVEL": "WARNING"}, base / "api.log").start()
        nginx = None
        try:
            noauth_port = free_port()
            nginx = NginxProcess(base / "nginx", layout.root, f"127.0.0.1:{api.port}")
            # Baseline server: the same file, the same TLS, no auth_request.
            (base / "nginx" / "conf" / "conf.d" / "zz_bench_noauth.conf").write_text(f"""
server {{
    listen 127.0.0.1:{noauth_port} ssl;
    ssl_certificate {base}/nginx/cert.pem;
    ssl_certificate_key {base}/nginx/key.pem;
    include conf.d/vv_security_headers;
    location = /api/playlists/tv1 {{
        default_type application/json;
        alias {playlist};
        etag on;
        add_header Cache-Control "no-cache" always;
        include conf.d/vv_security_headers;
    }}
}}
""")
            nginx.start()
            runs = {
                "nginx, no auth (baseline)": wrk(f"https://127.0.0.1:{noauth_port}/api/playlists/tv1", seconds, 32,
                                                 None),
                "nginx → tv_api (auth + validated playlist)": wrk(f"{nginx.base_url}/api/playlists/tv1", seconds, 32,
                                                                  token),
            }
            # Also measure tv_api's own CPU time: on a shared box req/s depends on the neighbours,
            # requests per CPU-second of the server process does not (much).
            server = psutil.Process(api.process.pid)
            before = server.cpu_times()
            runs["tv_api alone (Bearer)"] = wrk(f"{api.base_url}/api/playlists/tv1", seconds, 10, token)
            after = server.cpu_times()
            cpu_seconds = (after.user - before.user) + (after.system - before.system)
            runs["tv_api alone (Bearer)"]["cpu_seconds"] = cpu_seconds
        finally:
            if nginx is not None:
                nginx.stop()
            api.stop()
    baseline = runs["nginx, no auth (baseline)"]["rps"]
    print(f"| run ({seconds} s each, wrk -t2, loopback) | req/s | p50 ms | p99 ms | non-2xx/3xx | ratio vs baseline |")
    print("|---|---|---|---|---|---|")
    for name, result in runs.items():
        print(f"| {name.strip()} | {result['rps']:.0f} | {result['p50_ms']:.2f} | {result['p99_ms']:.2f} | "
              f"{result['errors']} | {result['rps'] / baseline:.2f} |")
    api_alone = runs["tv_api alone (Bearer)"]
    front = runs["nginx → tv_api (auth + validated playlist)"]
    print()
    print(f"tv_api alone: {api_alone['rps']:.0f} req/s (target >= 2000), p99 {api_alone['p99_ms']:.1f} ms "
          f"(target <= 20): {'PASS' if api_alone['rps'] >= 2000 and api_alone['p99_ms'] <= 20 else 'MISS'}")
    per_cpu = api_alone["requests"] / api_alone["cpu_seconds"]
    print(f"tv_api served {per_cpu:.0f} requests per CPU-second of its process (one core free => ~{per_cpu:.0f} "
          f"req/s); load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"front with auth / front without auth: {front['rps'] / baseline:.2f} (target >= 0.50): "
          f"{'PASS' if front['rps'] / baseline >= 0.5 else 'MISS'}")
    results = REPO / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "bench_api.json").write_text(json.dumps({"seconds": seconds, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
