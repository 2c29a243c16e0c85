"""Render the nginx site from templates/ into <conf dir>/conf.d/ (stdlib only, runs anywhere).

    python nginx/render_config.py OUT_CONF_DIR            # values from the environment
    VV_STORAGE_ROOT=/srv/storage VV_TV_API_UPSTREAM=tv_api:8000 ... python nginx/render_config.py /etc/nginx

Only ``${VV_…}`` placeholders are replaced (nginx's own ``$variables`` are left alone); a missing
value is an error naming it. The official nginx image's /etc/nginx/templates does the same with
envsubst, so either way produces the same file.
"""

import os
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\$\{(VV_[A-Z0-9_]+)\}")
DEFAULTS = {"VV_HTTPS_PORT": "443", "VV_HTTP_PORT": "80", "VV_SERVER_NAME": "_",
            "VV_TV_API_UPSTREAM": "127.0.0.1:8000", "VV_NGINX_CACHE_DIR": "/var/cache/nginx/vv"}
INCLUDES = ("vv_bad_path", "vv_proxy_params", "vv_security_headers")


def render(template: str, values: dict[str, str]) -> str:
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def render_site(conf_dir: Path, values: dict[str, str]) -> Path:
    """Write conf_dir/nginx.conf, mime.types and conf.d/ (vv.conf + includes); return vv.conf."""
    merged = {**DEFAULTS, **values}
    conf_d = conf_dir / "conf.d"
    conf_d.mkdir(parents=True, exist_ok=True)
    for name in ("nginx.conf", "mime.types"):
        shutil.copyfile(HERE / name, conf_dir / name)
    for name in INCLUDES:
        shutil.copyfile(HERE / "templates" / name, conf_d / name)
    site = conf_d / "vv.conf"
    site.write_text(render((HERE / "templates" / "vv.conf.template").read_text(), merged))
    Path(merged["VV_NGINX_CACHE_DIR"], "auth").mkdir(parents=True, exist_ok=True)
    return site


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: render_config.py OUT_CONF_DIR", file=sys.stderr)
        return 1
    values = {k: v for k, v in os.environ.items() if k.startswith("VV_")}
    try:
        print(render_site(Path(argv[1]), values))
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
