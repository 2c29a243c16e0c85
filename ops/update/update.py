"""`vv update`: rebuild only the images whose inputs changed, recreate their containers one at a
time, wait for each to be healthy, and roll back to the previous image when one is not.

1. Plan: each built service's input hash (ops.update.inputs, no Docker) against the label
   ``org.vv.inputs-sha256`` of the image its container runs. A service that runs another service's
   image (the mirror runs tv_api's) follows that image.
2. Per stale image: the image the container runs is tagged ``<repository>:previous``; the image is
   rebuilt (``docker build`` of its compose build section, the hash as build arg → label); each of
   its services is recreated (``compose up -d --no-deps``) and must turn healthy within its
   healthcheck start_period + grace.
3. A container that is not healthy by then, reports ``unhealthy`` or crash-loops: the tag goes back
   to the previous image, every service recreated so far is recreated on it and waited for, a
   CRITICAL alert is sent and the update stops (the rest stays as it was).

With a site registry (``--registry``, UPDATE_REGISTRY) a stale image is pulled instead of built:
every one of them is pulled first, and each must carry the inputs hash computed here (a registry
holding another version than this checkout is refused); only then is anything tagged or recreated,
so an unreachable registry or a wrong image changes nothing. Step 2 and 3 are the same after that.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ops.update import stack
from ops.update.inputs import image_inputs
from ops.update.stack import Project, Service, StackError
from ops.upkeep.container_verdict import judge

logger = logging.getLogger("vv.update")


@dataclass
class Row:
    service: str
    image: str
    builder: str                 # the service whose build makes this image
    current: str | None          # inputs hash on the image the container runs (None: unknown)
    new: str
    action: str = "up-to-date"   # up-to-date | rebuild | pull (from the registry) | recreate
    result: str = ""             # updated | rolled back | failed | skipped


@dataclass
class Outcome:
    rows: list[Row]
    ok: bool = True
    rolled_back: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


def new_hashes(services: dict[str, Service]) -> dict[str, str]:
    """Each built service's input hash (no Docker)."""
    from pathlib import Path

    return {name: image_inputs(Path(s.build["context"]), s.build.get("dockerfile") or "Dockerfile",
                               s.build.get("args") or {}).sha256
            for name, s in services.items() if s.build}


def plan(services: dict[str, Service], new: dict[str, str], current: dict[str, str | None],
         built: dict[str, str | None], *, only: list[str] | None = None, force: bool = False,
         pull: bool = False) -> list[Row]:
    """What to do per service. ``current``: hash on the image each container runs; ``built``: hash on
    the image its tag names now (an image built but never started needs a recreate, not a build).
    ``pull``: a stale image comes from the registry (action "pull") instead of a build."""
    builder_of = {s.image: name for name, s in services.items() if s.build}
    # A service named alone brings the service that builds its image (the mirror → tv_api).
    selected = set(only or ()) | {builder_of.get(services[n].image, n) for n in only or () if n in services}
    rows = []
    for name, service in services.items():
        builder = name if service.build else builder_of.get(service.image)
        if builder is None:
            continue  # a pulled image (watchtower): not ours to build
        if only and name not in selected and builder not in selected:
            continue
        row = Row(name, service.image, builder, current.get(name), new[builder])
        if force and name == builder:
            row.action = "rebuild"
        elif row.current != row.new:
            row.action = "recreate" if name != builder or built.get(builder) == row.new else "rebuild"
        rows.append(row)
    # A rebuild of an image recreates every service that runs it.
    rebuilt = {row.builder for row in rows if row.action == "rebuild"}
    for row in rows:
        if row.builder in rebuilt and row.action == "up-to-date":
            row.action = "recreate"
        if pull and row.action == "rebuild":
            row.action = "pull"
    return rows


def observe(project: Project, services: dict[str, Service]) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """(hash on the image each service's container runs, hash on the image each built tag names)."""
    current: dict[str, str | None] = {}
    for name, service in services.items():
        container = project.container_id(name)
        image = stack.container_state(container)["ImageId"] if container else service.image
        current[name] = stack.image_label(image)
    built = {name: stack.image_label(s.image) for name, s in services.items() if s.build}
    return current, built


def judge_state(state: dict[str, Any], *, running_s: float) -> tuple[bool | None, str]:
    """A container just recreated, from `docker inspect` (State + RestartCount) → (True healthy |
    False failed | None undecided, why). Any exit is a crash here (no start-period forgiveness)."""
    verdict = judge(state, restart_count=int(state.get("RestartCount", 0)), running_s=running_s,
                    forgive_start=False)
    return verdict.healthy, verdict.reason


def wait_healthy(project: Project, service: str, timeout_s: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> tuple[bool, str]:
    """(healthy?, why not): healthy, or unhealthy / crash-looping / not healthy within ``timeout_s``."""
    deadline = clock() + timeout_s
    started = clock()
    last = "no container"
    container = None
    while True:
        container = container or project.container_id(service)  # one `compose ps`, then inspect only
        state = None
        if container:
            try:
                state = stack.container_state(container)
            except StackError:  # gone (removed meanwhile): look it up again next time
                container = None
        if state is not None:
            verdict, last = judge_state(state, running_s=clock() - started)
            if verdict is not None:
                return verdict, last
        if clock() >= deadline:
            return False, f"not healthy within {timeout_s:.0f} s ({last})"
        sleep(1.0)


def _alert(settings: Any, title: str, message: str, service: str) -> None:
    if settings is None:
        return
    from vv_core.alert_triggers import build_alert
    from vv_core.alerts import send_alert

    send_alert(build_alert("CRITICAL", title, message, "update", container=service), settings)


def _event(event: str, **fields: Any) -> None:
    logger.info(event, extra={"event": event, **fields})


def pull_verified(services: dict[str, Service], rows: list[Row], registry: str,
                  clock: Callable[[], float] = time.monotonic, timings_s: dict[str, float] | None = None
                  ) -> dict[str, str]:
    """Pull every image the plan takes from the registry, before anything changes; {builder: the
    pulled reference}. Raises StackError (nothing tagged, nothing recreated) when the registry is
    unreachable, lacks an image, or holds an image whose inputs hash is not this checkout's."""
    prefix = stack.registry_prefix(registry)
    wanted = {row.builder: row.new for row in rows if row.action == "pull"}
    pulled: dict[str, str] = {}
    for builder, new in wanted.items():
        reference = prefix + services[builder].image
        started = clock()
        _event("update_pull", service=builder, reference=reference, inputs_sha256=new)
        try:
            stack.pull(reference)
        except StackError as exc:
            raise StackError(f"registry {prefix.rstrip('/')}: cannot pull {reference}; nothing was changed "
                             f"({exc})") from None
        label = stack.image_label(reference)
        if label != new:
            stack.untag(reference)
            raise StackError(f"{reference} carries inputs hash {(label or 'none')[:12]}, this checkout's "
                             f"{services[builder].image} is {new[:12]}: the registry holds another version; "
                             f"refused, nothing was changed")
        pulled[builder] = reference
        if timings_s is not None:
            timings_s[f"pull {builder}"] = clock() - started
        _event("update_pulled", service=builder, reference=reference, image_id=stack.image_id(reference),
               seconds=round(clock() - started, 1))
    return pulled


def apply(project: Project, services: dict[str, Service], rows: list[Row], *, grace_s: float = 60.0,
          alert_settings: Any = None, clock: Callable[[], float] = time.monotonic, registry: str = "") -> Outcome:
    """Carry out the plan image by image; stop at the first rollback. Images the plan pulls are all
    pulled and checked first (:func:`pull_verified`)."""
    outcome = Outcome(rows)
    pulled = pull_verified(services, rows, registry, clock, outcome.timings_s) if any(
        row.action == "pull" for row in rows) else {}
    groups: dict[str, list[Row]] = {}
    for row in rows:
        if row.action != "up-to-date":
            groups.setdefault(row.builder, []).append(row)
    for builder, group in groups.items():
        group.sort(key=lambda r: r.service != builder)  # the builder first, then who shares its image
        if not _update_image(project, services, builder, group, grace_s, alert_settings, clock, outcome,
                             pulled.get(builder)):
            outcome.ok = False
            for row in rows:
                row.result = row.result or ("skipped" if row.action != "up-to-date" else "")
            break
    return outcome


def _update_image(project: Project, services: dict[str, Service], builder: str, group: list[Row], grace_s: float,
                  alert_settings: Any, clock: Callable[[], float], outcome: Outcome, pulled: str | None = None
                  ) -> bool:
    image = services[builder].image
    container = project.container_id(builder)
    previous = stack.container_state(container)["ImageId"] if container else stack.image_id(image)
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    if previous:
        stack.tag(previous, f"{repository}:previous")
    new = group[0].new
    if pulled:  # checked by pull_verified: it carries this checkout's hash
        stack.tag(pulled, image)
        _event("update_tagged", service=builder, image=image, reference=pulled, previous_image=previous)
    elif any(row.action == "rebuild" for row in group):
        started = clock()
        _event("update_build", service=builder, image=image, inputs_sha256=new, previous_image=previous)
        project.build(services[builder], new)
        outcome.timings_s[f"build {builder}"] = clock() - started
        if stack.image_label(image) != new:
            raise StackError(f"{image}: the built image does not carry inputs hash {new[:12]}")
        _event("update_built", service=builder, image=image, image_id=stack.image_id(image),
               seconds=round(clock() - started, 1))
    recreated: list[str] = []
    for row in group:
        timeout_s = services[row.service].start_period_s + grace_s
        started = clock()
        _event("update_recreate", service=row.service, image=image, timeout_s=timeout_s)
        recreated.append(row.service)
        try:
            project.recreate(row.service)
        except StackError as exc:
            healthy, why = False, f"recreate failed: {exc}"
        else:
            healthy, why = wait_healthy(project, row.service, timeout_s)
        if healthy:
            row.result = "updated"
            outcome.timings_s[f"healthy {row.service}"] = clock() - started
            _event("update_healthy", service=row.service, seconds=round(clock() - started, 1))
            continue
        _event("update_unhealthy", service=row.service, reason=why, seconds=round(clock() - started, 1))
        row.result = "failed"
        if not previous:
            _alert(alert_settings, f"update of {row.service} failed", f"{why}; no previous image to roll back to",
                   row.service)
            return False
        stack.tag(previous, image)
        back: list[str] = []
        for name in recreated:
            try:
                project.recreate(name, force=True)
            except StackError as exc:
                ok, why_back = False, f"recreate failed: {exc}"
            else:
                ok, why_back = wait_healthy(project, name, services[name].start_period_s + grace_s)
            back.append(f"{name}: {'healthy' if ok else why_back}")
            next(r for r in group if r.service == name).result = "rolled back" if ok else "rollback unhealthy"
        outcome.rolled_back = list(recreated)
        outcome.timings_s["recreate to rollback complete"] = clock() - started
        _event("update_rolled_back", service=row.service, reason=why, image=image, previous_image=previous,
               seconds=round(clock() - started, 1), containers="; ".join(back))
        _alert(alert_settings, f"update of {row.service} rolled back",
               f"{row.service} on the new {image} ({new[:12]}): {why}. Back on the previous image "
               f"{previous[:19]}: {'; '.join(back)}.", row.service)
        return False
    return True
