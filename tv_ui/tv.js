/* vv TV player: plays /api/playlists/<tv> in order with a cross-fade between two <video> elements.
 *
 * Rules (issue 6): the next item is always preloading in the hidden element; playlist polls use
 * If-None-Match and never interrupt the current item; the last good playlist is kept (also across
 * reloads, in localStorage) while the API is down; a broken item is skipped; with nothing playable
 * the silent fallback loop plays; if even that fails the current element replays and the page
 * background shows the placeholder image, so the screen is never black.
 *
 * Pairing: open tv.html?tv=tv1#token=<device token> once. The token travels in the fragment (never
 * sent to a server or a log), is exchanged for an httponly cookie by POST /api/auth/device, and is
 * removed from the address bar; afterwards the cookie authorizes playlists and media.
 *
 * Offline (issue 19): a service worker (/tv_sw.js) keeps this page, the last playlist and its media,
 * so a TV that reboots while the box is down still plays; its answers carry X-VV-Offline and the page
 * then shows the status dot. Polling goes on, and the first real answer clears the dot: no reload.
 *
 * What is written over the video (tv_screen.js): captions per the playlist's display block, a clock,
 * the idle screen (fallback block) while the silent loop plays, and notices: not paired, unknown TV,
 * or a token paired with another TV.
 *
 * Test/ops parameters: ?poll=<ms> (default 15000), ?fade=<ms> (1000), ?retry=<ms> before a broken
 * item is tried again (60000), ?sw=0 to run without the service worker. window.vvTv exposes the
 * player state for tests and debugging.
 */
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  function intParam(name, fallback, low, high) {
    var value = parseInt(params.get(name), 10);
    if (isNaN(value)) { return fallback; }
    return Math.min(high, Math.max(low, value));
  }
  var tv = (params.get('tv') || 'tv1').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32) || 'tv1';
  var pollMs = intParam('poll', 15000, 500, 600000);
  var fadeMs = intParam('fade', 1000, 0, 5000);
  var retryMs = intParam('retry', 60000, 500, 3600000);
  var STALL_MS = 8000;
  var DEFAULT_FALLBACK = '/media/fallback/loop_silencioso.mp4';
  var storeKey = 'vv.playlist.' + tv;

  var screen = window.vvScreen;
  var state = {
    tv: tv, mode: 'starting', playlist: null, etag: null, apiOk: null, paired: null, offline: false,
    problem: null, worker: null,
    fades: 0, played: [], skipped: [], current: null, polls: 0, pollErrors: 0, replays: 0
  };
  window.vvTv = state;

  var videos = [document.getElementById('va'), document.getElementById('vb')];
  var active = 1;            // index of the visible element (the other one preloads)
  var preloaded = null;      // {url, item} loaded into videos[1 - active]
  var switching = false;
  var switchStartedAt = 0;
  var attempts = 0;          // failed candidates in the current switch
  var broken = {};           // media url -> time it failed
  var lastTime = -1;
  var lastProgressAt = Date.now();

  document.documentElement.style.setProperty('--fade', fadeMs + 'ms');

  function isBroken(url) {
    var when = broken[url];
    return when !== undefined && Date.now() - when < retryMs;
  }

  function markBroken(url) {
    broken[url] = Date.now();
    state.skipped.push(url);
  }

  function fallbackUrl() {
    var p = state.playlist;
    return (p && p.fallback && p.fallback.media_url) || DEFAULT_FALLBACK;
  }

  function playableItems() {
    var items = (state.playlist && state.playlist.items) || [];
    return items.filter(function (item) { return item && item.media_url && !isBroken(item.media_url); });
  }

  function nextEntry() {
    var items = playableItems();
    if (!items.length) {
      var url = fallbackUrl();
      return isBroken(url) ? null : { url: url, item: null };
    }
    var index = 0;
    if (state.current && state.current.item) {
      var id = state.current.item.logline_id;
      var all = state.playlist.items;
      var position = all.findIndex(function (item) { return item.logline_id === id; });
      // The item after the current one in the full list that is still playable.
      for (var step = 1; position >= 0 && step <= all.length; step++) {
        var candidate = all[(position + step) % all.length];
        var at = items.indexOf(candidate);
        if (at >= 0) { index = at; break; }
      }
    }
    return { url: items[index].media_url, item: items[index] };
  }

  function load(el, entry) {
    el.dataset.url = entry.url;
    el.src = entry.url;
    el.load();
  }

  function preloadNext() {
    var entry = nextEntry();
    if (!entry) { preloaded = null; return; }
    var el = videos[1 - active];
    if (preloaded && preloaded.url === entry.url && el.dataset.url === entry.url && !el.error) { return; }
    preloaded = entry;
    load(el, entry);
  }

  function showScreen(entry) {
    var idle = !entry || !entry.item;
    screen.showIdle(idle, state.playlist);
    if (!idle) { screen.showCaption(entry.item, state.playlist); }
  }

  function replayCurrent() {
    // Nothing else can play: keep the picture alive with what already played (it is buffered).
    var el = videos[active];
    state.replays++;
    switching = false;
    attempts = 0;
    if (el.dataset.url) {
      el.currentTime = 0;
      el.play().catch(function () {});
    }
  }

  function crossfade(entry) {
    var incoming = videos[1 - active];
    var outgoing = videos[active];
    incoming.classList.add('on');
    outgoing.classList.remove('on');
    active = 1 - active;
    state.current = entry;
    state.mode = entry.item ? 'playlist' : 'fallback';
    state.fades++;
    state.played.push(entry.url);
    if (state.played.length > 200) { state.played.splice(0, 100); }
    showScreen(entry);
    switching = false;
    attempts = 0;
    lastProgressAt = Date.now();
    preloaded = null;
    setTimeout(function () {
      outgoing.pause();
      preloadNext();
    }, fadeMs + 50);
  }

  function advance() {
    if (switching) { return; }
    switching = true;
    switchStartedAt = Date.now();
    var el = videos[1 - active];
    if (!preloaded || el.dataset.url !== preloaded.url || el.error) {
      preloaded = null;
      preloadNext();
    }
    if (!preloaded) { replayCurrent(); return; }
    var entry = preloaded;
    el.currentTime = 0;
    el.play().then(function () { crossfade(entry); }, function () { failed(el, entry.url); });
  }

  function failed(el, url) {
    if (el === videos[1 - active] && el.dataset.url !== url) { return; }  // superseded load
    markBroken(url);
    if (preloaded && preloaded.url === url) { preloaded = null; }
    attempts++;
    if (switching) {
      switching = false;
      if (attempts > ((state.playlist && state.playlist.items.length) || 0) + 1) { replayCurrent(); return; }
      advance();
    } else {
      preloadNext();
    }
  }

  videos.forEach(function (el, index) {
    el.addEventListener('error', function () {
      var url = el.dataset.url;
      if (!url) { return; }
      if (index === active && !switching) { markBroken(url); attempts = 0; advance(); return; }
      failed(el, url);
    });
    el.addEventListener('timeupdate', function () {
      if (index !== active || switching) { return; }
      if (el.currentTime !== lastTime) { lastTime = el.currentTime; lastProgressAt = Date.now(); }
      var remaining = el.duration - el.currentTime;
      if (isFinite(remaining) && remaining <= fadeMs / 1000) { advance(); }
    });
    el.addEventListener('ended', function () {
      if (index === active) { advance(); }
    });
  });

  // Stall watchdog: a hung decoder or a dead network on the visible element moves on.
  setInterval(function () {
    var now = Date.now();
    if (switching && now - switchStartedAt > STALL_MS) { replayCurrent(); return; }
    if (!switching && now - lastProgressAt > STALL_MS) {
      lastProgressAt = now;
      advance();
    }
  }, 1000);

  function validPlaylist(doc) {
    return doc && typeof doc === 'object' && Array.isArray(doc.items) && doc.fallback &&
      typeof doc.fallback.media_url === 'string';
  }

  function adopt(doc, etag) {
    var wasEmpty = !playableItems().length;
    state.playlist = doc;
    state.etag = etag;
    try { localStorage.setItem(storeKey, JSON.stringify({ playlist: doc, etag: etag })); } catch (e) { /* full */ }
    if (state.current) { showScreen(state.current); }  // a new name/message or captions setting
    // New content replaces the fallback loop at once; a real item is never cut short.
    if (state.mode === 'fallback' && wasEmpty && playableItems().length) { preloaded = null; advance(); return; }
    if (!switching) { preloadNext(); }
  }

  function poll() {
    var headers = state.etag ? { 'If-None-Match': state.etag } : {};
    return fetch('/api/playlists/' + encodeURIComponent(tv), { headers: headers, cache: 'no-store', credentials: 'same-origin' })
      .then(function (response) {
        var wasDown = state.apiOk === false;
        state.offline = response.headers.get('X-VV-Offline') === '1';  // the service worker's copy
        state.apiOk = !state.offline && (response.ok || response.status === 304 || response.status < 500);
        state.polls++;
        if (state.apiOk && wasDown) { broken = {}; }  // failures during an outage were the outage
        screen.setReachable(state.apiOk);
        if (state.offline) { state.pollErrors++; }
        return problemOf(response).then(function (problem) {
          state.problem = problem;
          screen.notice(PROBLEMS[problem] ? PROBLEMS[problem]() : '');
          if (problem === 'unknown_tv' || problem === 'other_tv') { forget(); }
          if (response.status !== 200) { return null; }
          var etag = response.headers.get('ETag');
          return response.json().then(function (doc) { if (validPlaylist(doc)) { adopt(doc, etag); } });
        });
      })
      .catch(function () { state.apiOk = false; state.pollErrors++; screen.setReachable(false); })
      .then(function () { setTimeout(poll, pollMs); });
  }

  var PROBLEMS = {
    not_paired: function () { return 'Not paired: open tv.html?tv=' + tv + '#token=… once on this TV'; },
    unknown_tv: function () { return 'Unknown TV "' + tv + '": check ?tv= in this page\'s address'; },
    other_tv: function () { return 'This TV\'s token is paired with another TV: re-pair it for "' + tv + '"'; }
  };

  function problemOf(response) {
    if (response.status === 401) { return Promise.resolve('not_paired'); }
    if (response.status === 403) { return Promise.resolve('other_tv'); }
    if (response.status !== 404) { return Promise.resolve(null); }
    return response.clone().json().then(function (body) {
      return body && body.detail === 'unknown TV' ? 'unknown_tv' : null;
    }, function () { return null; });
  }

  function forget() {
    // Not this TV's content (or no such TV): never keep playing a playlist we may not show.
    if (state.playlist && state.playlist.items && state.playlist.items.length) {
      state.playlist = { items: [], fallback: state.playlist.fallback };
      preloaded = null;
      if (state.mode === 'playlist') { advance(); }
    }
    try { localStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
  }

  function registerWorker() {
    if (params.get('sw') === '0' || !('serviceWorker' in navigator)) { state.worker = 'off'; return; }
    // Service workers need a secure context: HTTPS (the nginx front) or http://localhost/127.0.0.1.
    navigator.serviceWorker.register('/tv_sw.js', { scope: '/tv.html' }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () { state.worker = 'ready'; }, function () { state.worker = 'failed'; });
  }

  function pair() {
    var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!match) { return Promise.resolve(); }
    history.replaceState(null, '', location.pathname + location.search);  // token off the screen
    return fetch('/api/auth/device', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: decodeURIComponent(match[1]) })
    }).then(function (r) { state.paired = r.ok; }, function () { state.paired = false; });
  }

  function restore() {
    try {
      var saved = JSON.parse(localStorage.getItem(storeKey) || 'null');
      if (saved && validPlaylist(saved.playlist)) { state.playlist = saved.playlist; state.etag = saved.etag; }
    } catch (e) { /* ignore a corrupt copy */ }
  }

  restore();
  registerWorker();
  pair().then(function () {
    var first = poll();
    // Start with what we have (a saved playlist or the fallback) unless the first poll is quick.
    var started = false;
    function start() { if (!started) { started = true; advance(); } }
    first.then(start);
    setTimeout(start, 3000);
  });
})();
