// Zondarr's own enhancement script for the admin pages. Every page works without it; it only
//  - tells the server the admin's time zone (a cookie with the UTC offset in minutes), so times
//    are shown and entered in local time,
//  - shows the password strength while the admin types (the server enforces the rules),
//  - copies the invitation link to the clipboard,
//  - runs "Test connection" in place (the same form post, the answer swapped into the page),
//  - ticks every box of the users list in place ("Select all on this page").
'use strict';

(function () {
  // Time zone: minutes east of UTC, for the next pages (a form carries the offset it was
  // rendered with, so a change here never shifts a time being entered).
  var offset = String(-new Date().getTimezoneOffset());
  document.cookie = 'zondarr_tz=' + offset + '; Path=/; Max-Age=31536000; SameSite=Lax';

  // Password strength: length and variety of character classes; a hint, not a rule.
  document.querySelectorAll('input[data-strength]').forEach(function (input) {
    var out = document.getElementById(input.dataset.strength);
    if (!out) { return; }
    var labels = (out.dataset.labels || '').split('|');
    var update = function () {
      var v = input.value;
      if (v.length === 0) { out.textContent = ''; out.dataset.level = ''; return; }
      if (v.length < 12) { out.textContent = out.dataset.short || ''; out.dataset.level = '0'; return; }
      var classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter(function (r) { return r.test(v); }).length;
      var score = Math.min(4, Math.floor(v.length / 8) + classes - 1);
      var unique = new Set(v.split('')).size;
      if (unique < 5) { score = Math.min(score, 1); }
      out.textContent = labels[Math.max(0, score)] || '';
      out.dataset.level = String(score);
    };
    input.addEventListener('input', update);
    update();
  });

  // Copy the invitation link.
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = button.dataset.copied || label;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        field.select();
      });
    });
  });

  // Test connection in place: post the form with op=test and swap in the answer's form
  // (and its notice), keeping what was typed into secret fields (never sent back).
  function bindTest() {
    var form = document.getElementById('server-form');
    var test = document.getElementById('test');
    if (!form || !test || !window.fetch || !window.DOMParser) { return; }
    test.addEventListener('click', function (event) {
      event.preventDefault();
      var data = new URLSearchParams(new FormData(form));
      data.set('op', 'test');
      test.disabled = true;
      // Without the in-place answer, the same test as a full page (never a save).
      var fallback = function () {
        var op = document.createElement('input');
        op.type = 'hidden';
        op.name = 'op';
        op.value = 'test';
        form.appendChild(op);
        HTMLFormElement.prototype.submit.call(form);
      };
      fetch(form.getAttribute('action'), { method: 'POST', body: data, credentials: 'same-origin' })
        .then(function (response) { return response.text(); })
        .then(function (text) {
          var doc = new DOMParser().parseFromString(text, 'text/html');
          var fresh = doc.getElementById('server-form');
          if (!fresh) { fallback(); return; }
          var secrets = {};
          form.querySelectorAll('input[type="password"]').forEach(function (i) { secrets[i.name] = i.value; });
          var old = document.getElementById('notice');
          if (old) { old.remove(); }
          var notice = doc.getElementById('notice');
          if (notice) { form.parentNode.insertBefore(document.importNode(notice, true), form); }
          var node = document.importNode(fresh, true);
          form.replaceWith(node);
          node.querySelectorAll('input[type="password"]').forEach(function (i) { i.value = secrets[i.name] || ''; });
          bindTest();
        })
        .catch(fallback);
    });
  }
  bindTest();
})();

// Users list: "Select all on this page" ticks (or clears) the page's boxes in place. Without
// JavaScript it is a link to the same page with every box ticked by the server.
(function () {
  var link = document.getElementById('select-all');
  if (!link) { return; }
  link.addEventListener('click', function (event) {
    var boxes = document.querySelectorAll('#users input[name="user"]');
    if (!boxes.length) { return; }
    event.preventDefault();
    var all = Array.prototype.every.call(boxes, function (b) { return b.checked; });
    boxes.forEach(function (b) { b.checked = !all; });
    link.textContent = all ? link.dataset.all : link.dataset.none;
  });
})();
