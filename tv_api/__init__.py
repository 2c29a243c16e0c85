"""tv_api: playlists, media, status, metrics and the TV pages over HTTP, with built-in auth."""
