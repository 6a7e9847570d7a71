// Zondarr's own enhancement script for the join pages. Every page works without it; it only
//  - sends a form once (the button is disabled after the first press),
//  - counts a wizard step's timer down and enables the button when the server will accept it,
//  - runs "Sign in with ..." in a popup and continues when the sign-in is approved.
'use strict';

(function () {
  // Submit once: keep the pressed button's name/value (a disabled button is not sent), then
  // disable every submit button of the form.
  document.querySelectorAll('form[data-once]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (form.dataset.sent === '1') {
        event.preventDefault();
        return;
      }
      form.dataset.sent = '1';
      var submitter = event.submitter;
      if (submitter && submitter.name) {
        var copy = document.createElement('input');
        copy.type = 'hidden';
        copy.name = submitter.name;
        copy.value = submitter.value;
        copy.dataset.submitter = '1';
        form.appendChild(copy);
      }
      window.setTimeout(function () {
        form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });

  // Back to a page kept in the browser's cache: its forms can be sent again.
  window.addEventListener('pageshow', function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll('form[data-once]').forEach(function (form) {
      if (form.dataset.sent !== '1') { return; }
      form.dataset.sent = '';
      form.querySelectorAll('input[data-submitter]').forEach(function (i) { i.remove(); });
      form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = false; });
    });
    document.querySelectorAll('.working').forEach(function (p) { p.hidden = true; });
  });

  // Timer: the server said how many seconds are left; count down, then enable the button.
  var next = document.querySelector('button[data-wait]');
  if (next) {
    var left = parseInt(next.dataset.wait, 10);
    var label = next.textContent;
    var template = next.dataset.waitLabel || '%s';
    var tick = function () {
      if (left <= 0) {
        next.disabled = false;
        next.textContent = label;
        return;
      }
      next.disabled = true;
      next.textContent = template.replace('%s', String(left));
      left -= 1;
      window.setTimeout(tick, 1000);
    };
    tick();
  }

  // "Sign in with ...": open the provider in a popup, poll the public API, and continue to the
  // same return page the no-JavaScript redirect uses.
  var start = document.getElementById('link-start');
  var status = document.getElementById('link-status');
  if (start && start.dataset.linkApi && window.fetch) {
    start.addEventListener('click', function (event) {
      event.preventDefault();
      var popup = window.open('', 'zondarr-link', 'width=600,height=700');
      var say = function (text) { if (status) { status.textContent = text; } };
      var fail = function () {
        say(start.dataset.linkFailed);
        if (popup && !popup.closed) { popup.close(); }
      };
      fetch(start.dataset.linkApi, { method: 'POST', headers: { 'Accept': 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (link) {
          if (popup && !popup.closed) {
            popup.location.href = link.auth_url;
          } else {
            window.location.href = start.href;
            return;
          }
          say(start.dataset.linkWait);
          var done = start.dataset.linkReturn + link.link + '?w=' + encodeURIComponent(start.dataset.linkW || '');
          var poll = function () {
            fetch(start.dataset.linkApi + '/' + link.link, { headers: { 'Accept': 'application/json' } })
              .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
              .then(function (state) {
                if (state.status === 'linked') {
                  if (popup && !popup.closed) { popup.close(); }
                  window.location.href = done;
                } else if (state.status === 'pending') {
                  window.setTimeout(poll, 2000);
                } else {
                  fail();
                }
              }, fail);
          };
          window.setTimeout(poll, 2000);
        }, fail);
    });
  }
})();
