#!/bin/sh
# install_python_deps.sh IMAGE — build stage of deploy/Dockerfile (every stage image): a venv at /opt/vv/venv with only
# IMAGE's pinned requirements (requirements/images/IMAGE.txt). Offline (--no-index) from the host-built
# wheelhouse copied to /tmp/wheelhouse when `make wheelhouse` filled it; from PyPI otherwise.
set -eu
image=$1
reqs=/tmp/requirements/images
python3 -m venv /opt/vv/venv
pip="/opt/vv/venv/bin/pip --no-cache-dir --disable-pip-version-check --no-input"
if ls /tmp/wheelhouse/*.whl >/dev/null 2>&1; then
  echo "installing $image requirements offline from the wheelhouse"
  source_args="--no-index --find-links /tmp/wheelhouse"
else
  echo "no wheelhouse for $image: installing from the package index"
  source_args=""
fi
# shellcheck disable=SC2086  # word splitting of the option strings is intended
$pip install $source_args -r "$reqs/$image.txt"
if [ -f "$reqs/$image.nodeps.txt" ]; then
  # shellcheck disable=SC2086
  $pip install $source_args --no-deps -r "$reqs/$image.nodeps.txt"
fi
# The `vv` command without installing the project: the app is on PYTHONPATH (see deploy/Dockerfile).
printf '#!/opt/vv/venv/bin/python\nfrom vv_cli.main import main\nmain()\n' > /opt/vv/venv/bin/vv
chmod 0755 /opt/vv/venv/bin/vv
