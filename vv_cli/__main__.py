"""`python -m vv_cli`: the same as `vv`."""

from vv_cli.main import main

main()
