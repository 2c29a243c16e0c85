"""Render the one nginx config from templates/ into a conf dir (stdlib only, runs anywhere).

    python nginx/render_config.py OUT_CONF_DIR                    # values from the environment
    python nginx/render_config.py --values FILE OUT_CONF_DIR      # KEY=VALUE lines, environment on top
    VV_STORAGE_ROOT=/srv/storage VV_TLS_CERT=... VV_TLS_KEY=... python nginx/render_config.py /etc/nginx

Writes OUT/nginx.conf, OUT/mime.types and OUT/conf.d/ (vv.conf, the server blocks VV_TLS picks and
the shared includes). Only ``${VV_…}`` placeholders are replaced (nginx's own ``$variables`` are
left alone); a missing value is an error naming it. VV_TLS=on (default) is the box's TLS front,
VV_TLS=off the compose stack's plain front (deploy/nginx/compose.env): same locations, limits,
headers and auth_request, only the transport differs. VV_RESOLVER=off (default) reaches tv_api
through upstream groups fixed at start-up (keepalive); a resolver (the stack: Docker's DNS) makes
nginx resolve the service names per request, so it follows a recreated container.
"""

import os
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\$\{(VV_[A-Z0-9_]+)\}")
DEFAULTS = {"VV_TLS": "on", "VV_HTTPS_PORT": "443", "VV_HTTP_PORT": "80", "VV_SERVER_NAME": "_",
            "VV_TV_API_UPSTREAM": "127.0.0.1:8000", "VV_NGINX_CACHE_DIR": "/var/cache/nginx/vv",
            "VV_ACCESS_LOG": "off", "VV_RESOLVER": "off"}
INCLUDES = ("vv_bad_path", "vv_proxy_params", "vv_security_headers")
SERVERS = {"on": "vv_server_tls.template", "off": "vv_server_plain.template"}


def render(template: str, values: dict[str, str]) -> str:
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def read_values(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (``#`` comments and blank lines skipped); the value is the rest of the line."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not PLACEHOLDER.fullmatch("${" + name + "}"):
            raise KeyError(f"{path}:{number}: not a VV_NAME=value line")
        values[name] = value
    return values


def _replace(path: Path, text: str) -> None:
    """Write beside, then rename: a running nginx reloading never reads half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def render_site(conf_dir: Path, values: dict[str, str]) -> Path:
    """Write conf_dir/nginx.conf, mime.types and conf.d/ (vv.conf + includes); return vv.conf."""
    merged = {**DEFAULTS, **values}
    merged.setdefault("VV_MIRROR_UPSTREAM", merged["VV_TV_API_UPSTREAM"])
    if merged["VV_TLS"] not in SERVERS:
        raise KeyError(f"VV_TLS must be on or off, not {merged['VV_TLS']!r}")
    templates = HERE / "templates"
    upstreams = "vv_upstreams_static" if merged["VV_RESOLVER"] == "off" else "vv_upstreams_resolver"
    sources = {"vv.conf": "vv.conf.template", "vv_upstreams": f"{upstreams}.template",
               "vv_server": SERVERS[merged["VV_TLS"]], "vv_locations": "vv_locations.template"}
    texts = {name: (templates / source).read_text() for name, source in sources.items()}
    render("".join(texts.values()), merged)  # every missing value named at once, before any write
    parts = {name: render(text, merged) for name, text in texts.items()}
    conf_d = conf_dir / "conf.d"
    conf_d.mkdir(parents=True, exist_ok=True)
    for name in ("nginx.conf", "mime.types"):
        shutil.copyfile(HERE / name, conf_dir / name)
    for name in INCLUDES:
        shutil.copyfile(templates / name, conf_d / name)
    for name, text in parts.items():
        _replace(conf_d / name, text)
    site = conf_d / "vv.conf"
    Path(merged["VV_NGINX_CACHE_DIR"], "auth").mkdir(parents=True, exist_ok=True)
    return site


def main(argv: list[str]) -> int:
    args = argv[1:]
    values: dict[str, str] = {}
    try:
        if len(args) == 3 and args[0] == "--values":
            values = read_values(Path(args[1]))
            args = args[2:]
        if len(args) != 1:
            print("usage: render_config.py [--values FILE] OUT_CONF_DIR", file=sys.stderr)
            return 1
        values.update({k: v for k, v in os.environ.items() if k.startswith("VV_")})
        print(render_site(Path(args[0]), values))
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
