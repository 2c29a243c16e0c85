"""`vv faces …`: the box's own face library (logic in scan_video.face_library, imported lazily)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import app
from vv_cli.settings import Settings

faces_app = typer.Typer(help="Known faces: the box's own face library (kept in state/, never sent anywhere).",
                        no_args_is_help=True)
app.add_typer(faces_app, name="faces")


def _face_library() -> Path:
    from scan_video.face_library import library_path

    return library_path(Settings().video_storage_root)


@faces_app.command("add")
def faces_add(name: Annotated[str, typer.Argument(help="The person's name, as summaries will say it.")],
              images: Annotated[list[Path], typer.Argument(help="Images each showing exactly this one face.")]) -> None:
    """Add a person's face (one encoding per image) to the library."""
    from scan_video.face_library import FaceLibraryError, add_faces
    from vv_core.cli_support import fail

    try:
        count = add_faces(_face_library(), name, images)
    except FaceLibraryError as exc:
        fail(str(exc))
    print(f"{name}: {count} face encoding{'s' if count != 1 else ''}")


@faces_app.command("list")
def faces_list() -> None:
    """Known people and how many usable encodings each has (encodes pictures the console added)."""
    from scan_video.face_library import FaceLibraryError, list_people, unusable_pictures
    from vv_core.cli_support import fail

    try:
        people = list_people(_face_library())
        notes = unusable_pictures(_face_library())
    except FaceLibraryError as exc:
        fail(str(exc))
    print("\n".join(f"{name}\t{count}" for name, count in people.items()) if people else "no known faces")
    for name, lines in notes.items():
        for line in lines:
            print(f"{name}: {line}", file=sys.stderr)


@faces_app.command("remove")
def faces_remove(name: Annotated[str, typer.Argument(help="The person to forget.")]) -> None:
    """Remove a person (all their encodings) from the library."""
    from scan_video.face_library import FaceLibraryError, remove_person
    from vv_core.cli_support import fail

    try:
        removed = remove_person(_face_library(), name)
    except FaceLibraryError as exc:
        fail(str(exc))
    if not removed:
        fail(f"{name!r} is not in the face library")
    print(f"{name}: removed")
