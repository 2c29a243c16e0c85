/* vv mirror: the live MJPEG stream of one camera (?camera=cam1) in an <img>.
 *
 * tv_api sends a "camera offline" frame itself when the snapshot is stale; this page handles the
 * stream itself failing (tv_api down, network gone): it shows the offline card and reconnects with
 * exponential backoff (1 s, 2 s, 4 s … 30 s), and reconnects proactively every ?renew=<ms> (20 min)
 * because the server ends each stream after TV_API_MIRROR_MAX_SECONDS. An <img> that already showed
 * frames fires no event when its stream is cut, so a light probe of /healthz every ?probe=<ms> (5 s)
 * detects a dead tv_api and switches to the offline card and the retry loop. Pairing as in tv.html:
 * tv_mirror.html?camera=cam1#token=<device token> once. window.vvMirror exposes state for tests.
 *
 * The camera's name and the time its current picture was taken (in the box's time zone, from
 * /api/clock) are always on screen; GET /mirror/<camera>/info every ?info=<ms> (2 s) says when the
 * snapshot was taken and whether it is stale (older than TV_API_SNAPSHOT_STALE_SECONDS), and the page
 * then says so in words instead of letting a frozen or placeholder picture pass for live.
 */
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var camera = (params.get('camera') || 'cam1').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64) || 'cam1';
  var renewMs = Math.max(5000, parseInt(params.get('renew'), 10) || 20 * 60 * 1000);
  var probeMs = Math.max(500, parseInt(params.get('probe'), 10) || 5000);
  var MAX_BACKOFF_MS = 30000;
  var img = document.getElementById('stream');
  var offline = document.getElementById('offline');
  var infoMs = Math.max(500, parseInt(params.get('info'), 10) || 2000);
  var state = { camera: camera, connects: 0, errors: 0, frames: 0, backoffMs: 1000, online: false,
    stale: null, takenAt: null, zone: 'UTC' };
  window.vvMirror = state;
  var retryTimer = null;
  var renewTimer = null;

  function connect() {
    clearTimeout(retryTimer);
    clearTimeout(renewTimer);
    state.connects++;
    img.src = '/mirror/' + encodeURIComponent(camera) + '?n=' + state.connects;  // fresh connection
    renewTimer = setTimeout(connect, renewMs);
  }

  img.addEventListener('load', function () {
    state.frames++;
    state.online = true;
    state.backoffMs = 1000;
    offline.hidden = true;
    img.hidden = false;
  });

  function offlineThenRetry() {
    state.errors++;
    state.online = false;
    img.hidden = true;
    offline.hidden = false;
    var wait = state.backoffMs;
    document.getElementById('retry').textContent = 'reconnecting in ' + Math.round(wait / 1000) + ' s';
    state.backoffMs = Math.min(MAX_BACKOFF_MS, state.backoffMs * 2);
    clearTimeout(renewTimer);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, wait);
  }

  img.addEventListener('error', function () {
    if (img.getAttribute('src')) { offlineThenRetry(); }
  });

  setInterval(function () {
    if (!state.online) { return; }
    fetch('/healthz', { cache: 'no-store' }).then(function (response) {
      if (!response.ok) { throw new Error('unhealthy'); }
    }).catch(function () {
      if (!state.online) { return; }
      img.removeAttribute('src');  // drop the dead stream
      offlineThenRetry();
    });
  }, probeMs);

  document.getElementById('camera-name').textContent = camera;

  function clockTime(iso, withSeconds) {
    var options = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: state.zone };
    if (withSeconds) { options.second = '2-digit'; }
    try { return new Intl.DateTimeFormat(undefined, options).format(new Date(iso)); } catch (e) { return ''; }
  }

  function ago(seconds) {
    if (seconds < 90) { return Math.round(seconds) + ' s ago'; }
    if (seconds < 5400) { return Math.round(seconds / 60) + ' min ago'; }
    return Math.round(seconds / 3600) + ' h ago';
  }

  function showInfo(info) {
    state.takenAt = info.taken_at;
    state.stale = !!info.stale;
    document.getElementById('frame-time').textContent = info.taken_at ? clockTime(info.taken_at, true) : '';
    var banner = document.getElementById('stale');
    if (info.stale) {
      banner.textContent = info.taken_at
        ? 'Not live: the last picture is from ' + clockTime(info.taken_at, false) + ' (' + ago(info.age_seconds) + ')'
        : 'Not live: no picture from this camera yet';
    }
    banner.hidden = !info.stale;
  }

  function pollInfo() {
    fetch('/mirror/' + encodeURIComponent(camera) + '/info', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (info) { if (info) { showInfo(info); } })
      .catch(function () { /* the offline card covers a dead tv_api */ })
      .then(function () { setTimeout(pollInfo, infoMs); });
  }

  fetch('/api/clock', { cache: 'no-store' }).then(function (r) { return r.json(); })
    .then(function (doc) { if (typeof doc.timezone === 'string') { state.zone = doc.timezone; } })
    .catch(function () { /* UTC */ });

  function pair() {
    var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!match) { return Promise.resolve(); }
    history.replaceState(null, '', location.pathname + location.search);
    return fetch('/api/auth/device', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: decodeURIComponent(match[1]) })
    }).catch(function () {});
  }

  pair().then(function () { connect(); pollInfo(); });
})();
