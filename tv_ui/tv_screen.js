/* vv TV screen furniture (loaded before tv.js): the clock, the item captions, the idle screen, the
 * "box unreachable" dot and notices. tv.js decides what plays; this file decides what is written
 * over it. Times are shown in the box's time zone (GET /api/clock), never the TV's own: a TV's
 * zone is whatever its firmware says. The zone and the offset between the TV's clock and the box's
 * are remembered (localStorage), so a TV that restarts during an outage still shows the right time.
 */
(function () {
  'use strict';

  var ZONE_KEY = 'vv.clock';
  var clock = { zone: 'UTC', offsetMs: 0, known: false };
  try {
    var saved = JSON.parse(localStorage.getItem(ZONE_KEY) || 'null');
    if (saved && typeof saved.zone === 'string') { clock.zone = saved.zone; clock.offsetMs = saved.offsetMs || 0; }
  } catch (e) { /* a corrupt copy: keep UTC */ }

  function el(id) { return document.getElementById(id); }
  function now() { return new Date(Date.now() + clock.offsetMs); }

  function formatter(options) {
    try { return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: clock.zone }, options)); } catch (e) {
      return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: 'UTC' }, options));
    }
  }
  function hhmm(date) { return formatter({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date); }
  function dayKey(date) { return formatter({ year: 'numeric', month: '2-digit', day: '2-digit' }).format(date); }

  /* "Today 14:02", "Yesterday 23:10", "Sat 21 Nov 09:15": a moment as a person says it. */
  function spokenTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) { return ''; }
    var today = now();
    var yesterday = new Date(today.getTime() - 86400000);
    if (dayKey(date) === dayKey(today)) { return 'Today ' + hhmm(date); }
    if (dayKey(date) === dayKey(yesterday)) { return 'Yesterday ' + hhmm(date); }
    return formatter({ weekday: 'short', day: 'numeric', month: 'short' }).format(date) + ' ' + hhmm(date);
  }

  function fullDate(date) {
    return formatter({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(date);
  }

  function tick() {
    var date = now();
    el('clock').textContent = hhmm(date);
    el('idle-clock').textContent = hhmm(date);
    el('idle-date').textContent = fullDate(date);
  }

  function syncClock() {
    var sent = Date.now();
    return fetch('/api/clock', { cache: 'no-store', credentials: 'same-origin' }).then(function (response) {
      if (!response.ok || response.headers.get('X-VV-Offline')) { return; }  // keep what we knew
      return response.json().then(function (doc) {
        if (typeof doc.timezone !== 'string') { return; }
        var received = Date.now();
        clock.zone = doc.timezone;
        if (typeof doc.now_ms === 'number') { clock.offsetMs = doc.now_ms - (sent + received) / 2; }
        clock.known = true;
        try { localStorage.setItem(ZONE_KEY, JSON.stringify({ zone: clock.zone, offsetMs: clock.offsetMs })); } catch (e) { /* full */ }
        tick();
      });
    }).catch(function () { /* the box is down: the dot says so; keep the last zone */ });
  }

  /* Which items show a caption: the playlist's display.captions (tv_scheduler/config.yaml, per TV). */
  function captionsFor(playlist) {
    var mode = playlist && playlist.display && playlist.display.captions;
    return mode === 'alerts' || mode === 'none' ? mode : 'all';
  }

  function showCaption(item, playlist) {
    var overlay = el('overlay');
    var mode = captionsFor(playlist);
    if (!item || mode === 'none' || (mode === 'alerts' && item.status !== 'alerta')) {
      overlay.hidden = true;
      return;
    }
    el('overlay-title').textContent = item.title || '';
    el('overlay-summary').textContent = item.summary || '';
    el('overlay-summary').hidden = !item.summary;
    el('overlay-place').textContent = item.who || '';
    el('overlay-when').textContent = spokenTime(item.when);
    overlay.dataset.when = item.when || '';
    overlay.classList.toggle('alert', item.status === 'alerta');
    overlay.hidden = false;
  }

  /* The idle screen over the silent loop: clock, date, the configured name/logo and message. */
  function showIdle(on, playlist) {
    var idle = el('idle');
    var fallback = (playlist && playlist.fallback) || {};
    el('idle-name').textContent = fallback.name || '';
    el('idle-message').textContent = fallback.message || '';
    var logo = el('idle-logo');
    if (fallback.logo_url) {
      if (logo.getAttribute('src') !== fallback.logo_url) { logo.src = fallback.logo_url; }
      logo.hidden = false;
    } else {
      logo.hidden = true;
      logo.removeAttribute('src');
    }
    idle.hidden = !on;
    el('clock').hidden = on;  // the idle screen has its own, large clock
    if (on) { el('overlay').hidden = true; }
  }

  function setReachable(reachable) {
    el('status-dot').hidden = reachable !== false;
  }

  function notice(text) {
    var box = el('notice');
    box.textContent = text || '';
    box.hidden = !text;
  }

  el('idle-logo').addEventListener('error', function () { el('idle-logo').hidden = true; });
  tick();
  setInterval(tick, 1000);
  syncClock();
  setInterval(syncClock, 10 * 60 * 1000);

  window.vvScreen = {
    clock: clock, spokenTime: spokenTime, showCaption: showCaption, showIdle: showIdle,
    setReachable: setReachable, notice: notice, syncClock: syncClock
  };
})();
