/* vv TV service worker (served as /tv_sw.js, scope /tv.html): the TV keeps playing through an outage,
 * even across a reboot or a reload while the box is down.
 *
 * - The shell (tv.html, its scripts and style) and /api/clock: network first, the cached copy when the
 *   box does not answer. A playlist: the same, and each good playlist is kept (one per TV) together with
 *   the media it names; media no kept playlist names any more is dropped, so the cache stays the size
 *   of what the TVs play.
 * - Media: from the network while the box answers (HTTP Range as usual); from the cache when it does
 *   not, cut to the requested range (a 206, as a <video> expects).
 * - Every answer from the cache carries X-VV-Offline: 1, so the page shows its "box unreachable" dot.
 *   Nothing is retried here: the page keeps polling and the first real answer ends the outage.
 * Service workers need a secure context: the HTTPS front on a box, http://127.0.0.1 in tests.
 */
'use strict';

var CACHE = 'vv-tv-v1';
var SHELL = ['/tv.html', '/ui/tv/tv.js', '/ui/tv/tv_screen.js', '/ui/tv/tv.css'];
var FETCH_TIMEOUT_MS = 6000;   // a box that does not answer in time counts as down (shell, API)
var DOWN_STATUSES = [502, 503, 504];  // nginx in front of a stopped tv_api

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (url) {
      return fetch(url, { cache: 'no-store' }).then(function (r) { if (r.ok) { return cache.put(url, r); } })
        .catch(function () { /* cached on first use instead */ });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf('vv-tv-') === 0 && n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function withTimeout(request, ms) {
  var controller = new AbortController();
  var timer = setTimeout(function () { controller.abort(); }, ms);
  // A navigation request cannot be copied with new options: fetch its URL instead.
  var pending = request.mode === 'navigate'
    ? fetch(request.url, { credentials: 'same-origin', signal: controller.signal })
    : fetch(request, { signal: controller.signal });
  return pending.then(function (response) {
    clearTimeout(timer);
    if (DOWN_STATUSES.indexOf(response.status) >= 0) { throw new Error('box down: ' + response.status); }
    return response;
  }, function (error) { clearTimeout(timer); throw error; });
}

function offlineCopy(response) {
  var headers = new Headers(response.headers);
  headers.set('X-VV-Offline', '1');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: headers });
}

function fromCache(key) {
  return caches.open(CACHE).then(function (cache) { return cache.match(key, { ignoreSearch: true }); });
}

// The shell and the clock: network first; a good answer refreshes the copy.
function networkFirst(request, key) {
  return withTimeout(request, FETCH_TIMEOUT_MS).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(key, copy); });
    }
    return response;
  }, function (error) {
    return fromCache(key).then(function (cached) {
      if (cached) { return offlineCopy(cached); }
      throw error;
    });
  });
}

function mediaUrls(playlist) {
  var urls = [];
  (playlist.items || []).forEach(function (item) { if (item && item.media_url) { urls.push(item.media_url); } });
  var fallback = playlist.fallback || {};
  [fallback.media_url, fallback.image_url, fallback.logo_url].forEach(function (u) { if (u) { urls.push(u); } });
  return urls;
}

// Keep every medium the kept playlists name (one at a time: a TV box is small), drop the rest.
var storing = Promise.resolve();
function keepMediaOfPlaylists() {
  storing = storing.then(function () {
    return caches.open(CACHE).then(function (cache) {
      return cache.keys().then(function (requests) {
        var playlists = requests.filter(function (r) { return new URL(r.url).pathname.indexOf('/api/playlists/') === 0; });
        return Promise.all(playlists.map(function (r) { return cache.match(r).then(function (x) { return x.json(); }); }))
          .then(function (docs) {
            var wanted = {};
            docs.forEach(function (doc) { mediaUrls(doc).forEach(function (u) { wanted[u] = true; }); });
            var drops = requests.filter(function (r) {
              var path = new URL(r.url).pathname;
              return path.indexOf('/media/') === 0 && !wanted[path];
            }).map(function (r) { return cache.delete(r); });
            var have = {};
            requests.forEach(function (r) { have[new URL(r.url).pathname] = true; });
            var chain = Promise.all(drops);
            Object.keys(wanted).filter(function (u) { return !have[u]; }).forEach(function (url) {
              chain = chain.then(function () {
                return fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
                  if (r.status === 200) { return cache.put(url, r); }
                }).catch(function () { /* the next good playlist tries again */ });
              });
            });
            return chain;
          });
      });
    });
  }).catch(function () { /* storage full or evicted: playing from the network still works */ });
  return storing;
}

function playlist(event, key) {
  // Without a kept copy, ask for the whole document (not a 304) so there is one to keep.
  var request = event.request;
  return fromCache(key).then(function (kept) {
    if (!kept) { request = new Request(request.url, { credentials: 'same-origin', cache: 'no-store' }); }
    return withTimeout(request, FETCH_TIMEOUT_MS).then(function (response) {
      if (response.status === 200) {
        var copy = response.clone();
        event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.put(key, copy); })
          .then(keepMediaOfPlaylists));
      } else if (response.status === 404 || response.status === 403) {
        // no such TV, or not this token's: keep nothing for it
        event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.delete(key); }));
      }
      return response;
    }, function (error) {
      if (kept) { return offlineCopy(kept); }
      throw error;
    });
  });
}

function parseRange(header, size) {
  var match = /^bytes=(\d*)-(\d*)$/.exec(header || '');
  if (!match || (!match[1] && !match[2])) { return null; }
  var start = match[1] ? parseInt(match[1], 10) : Math.max(0, size - parseInt(match[2], 10));
  var end = match[1] && match[2] ? Math.min(parseInt(match[2], 10), size - 1) : size - 1;
  return start <= end && start < size ? [start, end] : null;
}

function cachedMedia(request, key) {
  return fromCache(key).then(function (cached) {
    if (!cached) { return null; }
    return cached.blob().then(function (blob) {
      var type = cached.headers.get('Content-Type') || 'application/octet-stream';
      var range = request.headers.get('Range');
      var headers = { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'X-VV-Offline': '1' };
      if (!range) {
        headers['Content-Length'] = String(blob.size);
        return new Response(blob, { status: 200, headers: headers });
      }
      var bounds = parseRange(range, blob.size);
      if (!bounds) {
        return new Response('', { status: 416, headers: { 'Content-Range': 'bytes */' + blob.size } });
      }
      var part = blob.slice(bounds[0], bounds[1] + 1);
      headers['Content-Range'] = 'bytes ' + bounds[0] + '-' + bounds[1] + '/' + blob.size;
      headers['Content-Length'] = String(part.size);
      return new Response(part, { status: 206, headers: headers });
    });
  });
}

function media(event, key) {
  // No timeout: a long video download is not an outage. A refused connection or a down front is.
  return fetch(event.request).then(function (response) {
    if (DOWN_STATUSES.indexOf(response.status) < 0) { return response; }
    return cachedMedia(event.request, key).then(function (cached) { return cached || response; });
  }, function (error) {
    return cachedMedia(event.request, key).then(function (cached) {
      if (cached) { return cached; }
      throw error;
    });
  });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  var path = url.pathname;
  if (request.mode === 'navigate' && path === '/tv.html') {
    event.respondWith(networkFirst(request, '/tv.html'));
  } else if (SHELL.indexOf(path) >= 0 || path === '/api/clock') {
    event.respondWith(networkFirst(request, path));
  } else if (path.indexOf('/api/playlists/') === 0) {
    event.respondWith(playlist(event, path));
  } else if (path.indexOf('/media/') === 0) {
    event.respondWith(media(event, path));
  }
});
