/* Sign in: POST /api/auth/login sets httponly session cookies; then go to / (the console). */
(function () {
  'use strict';
  var form = document.getElementById('login');
  var message = document.getElementById('message');
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var data = { username: form.username.value, password: form.password.value };
    fetch('/api/auth/login', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(data)
    }).then(function (response) {
      if (response.ok) { location.href = '/'; return; }
      message.textContent = response.status === 429 ? 'Too many attempts: wait and try again.'
        : 'Wrong user name or password.';
    }, function () { message.textContent = 'Server unreachable.'; });
  });
})();
