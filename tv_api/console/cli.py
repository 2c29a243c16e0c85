"""`vv search QUERY`: the console's search from the command line (same index, same model)."""

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer


def search(
    query: Annotated[str, typer.Argument(help="Words (full text) or a description (--semantic).")] = "",
    semantic: Annotated[bool, typer.Option("--semantic", help="Search by meaning with the embedding model.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the index from loglines/ first.")] = False,
    camera: Annotated[str, typer.Option(help="Only this camera.")] = "",
    status: Annotated[str, typer.Option(help="Only this status (alerta, confirmado, ...).")] = "",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many results.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of text.")] = False,
) -> None:
    """Search the LogLines (titles, summaries, labels, names, cameras); newest index, built on demand."""
    from tv_api.console.index import Filters
    from tv_api.console.state import build_index
    from tv_api.settings import TvApiSettings

    settings = TvApiSettings()
    storage = settings.storage
    index, embedder_slot = build_index(storage.root, storage.state, storage.loglines, Path(settings.models_dir),
                                       settings.console_embedder_model if semantic else "")
    started = time.perf_counter()
    changed = index.rebuild() if rebuild else index.refresh()
    if rebuild:
        print(f"index rebuilt: {index.stats()['events']} LogLine(s) ({changed} read)", file=sys.stderr)
    if not query:
        return
    filters = Filters(camera=camera, status=status)
    embedder = embedder_slot() if semantic else None
    if semantic and embedder is None:
        print(f"semantic search unavailable ({embedder_slot.reason}): FULL-TEXT results only", file=sys.stderr)
    if embedder is not None:
        index.embed_pending()
        results = index.search_semantic(query, filters, embedder, limit)
    else:
        results = index.search_text(query, filters, limit)
    mode = "semantic" if embedder is not None else "full-text"
    for row in results:
        if as_json:
            print(json.dumps({**row, "mode": mode}, ensure_ascii=False))
        else:
            score = f"  {row['score']:.2f}" if "score" in row else ""
            print(f"{row['when_utc']}  {row['camera']}  {row['status']}  {row['id']}  {row['title']}{score}")
    print(f"{len(results)} result(s), {mode}, {(time.perf_counter() - started) * 1000:.0f} ms", file=sys.stderr)
