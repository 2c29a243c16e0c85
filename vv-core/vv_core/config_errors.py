"""One line for a bad setting (issue 19): a pydantic ValidationError raised while reading the settings
(.env or the environment) names the variable and what to do, never a traceback, never the value
(it may be a secret)."""

from pydantic import ValidationError


def is_settings_error(exc: BaseException) -> bool:
    """A ValidationError of a settings model (not of an input file a stage parses)."""
    return isinstance(exc, ValidationError) and exc.title.endswith("Settings")


def settings_error_line(exc: ValidationError) -> str:
    """``TV_API_PORT is invalid (…): fix it in .env or the environment`` for the first error, plus a count."""
    errors = exc.errors()
    first = errors[0]
    name = "__".join(str(part) for part in first["loc"]).upper() or "a setting"
    if first["type"] == "extra_forbidden":
        line = f"{name} is not a setting: remove it from .env or fix its spelling " \
               "(.env.example lists every setting)"
    else:
        line = f"{name} is invalid ({first['msg']}): fix it in .env or the environment (see .env.example)"
    if len(errors) > 1:
        others = ", ".join("__".join(str(p) for p in e["loc"]).upper() for e in errors[1:])
        line += f"; also wrong: {others}"
    return line
