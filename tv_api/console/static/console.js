/* vv console: the little behaviour htmx does not cover. No inline scripts anywhere (CSP). */
(function () {
  'use strict';
  // Destructive forms ask first (data-confirm="question").
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);
  // The pairing link: selected on focus so it can be copied at once.
  document.addEventListener('focusin', function (event) {
    if (event.target.id === 'pair-url') { event.target.select(); }
  });
  // A live view that stops (the mirror stream ended or the camera went away) reconnects.
  document.addEventListener('error', function (event) {
    var img = event.target;
    if (img.tagName === 'IMG' && img.src.indexOf('/mirror/') !== -1) {
      setTimeout(function () { img.src = img.src.split('?')[0] + '?r=' + Date.now(); }, 3000);
    }
  }, true);
})();
