// Zondarr's own enhancement script for the admin pages. Every page works without it; it only
//  - tells the server the admin's time zone (a cookie with the UTC offset in minutes), so times
//    are shown and entered in local time,
//  - shows the password strength while the admin types (the server enforces the rules),
//  - copies the invitation link to the clipboard,
//  - runs "Test connection" in place (the same form post, the answer swapped into the page),
//  - turns the log page's list into a live tail (server-sent events) with pause and resume.
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

  // Live log tail: the stream with the page's filters and the same backfill replaces the list
  // rendered by the server (so nothing between rendering and connecting is missed); newest on
  // top; while paused, events are held and shown on resume.
  function tail() {
    var list = document.getElementById('log-tail');
    var status = document.getElementById('log-status');
    var pause = document.getElementById('log-pause');
    if (!list || !status || !pause || !window.EventSource) { return; }
    var labels = {};
    (list.dataset.levels || '').split('|').forEach(function (pair) {
      var i = pair.indexOf(':');
      if (i > 0) { labels[pair.slice(0, i)] = pair.slice(i + 1); }
    });
    var max = parseInt(list.dataset.max, 10) || 500;
    var paused = false;
    var held = [];
    var opened = false;
    var say = function (key) { status.textContent = status.dataset[key] || ''; };
    var item = function (e) {
      var li = document.createElement('li');
      li.className = 'lvl-' + e.level;
      li.dataset.seq = String(e.seq);
      var time = document.createElement('span');
      time.className = 'meta';
      time.textContent = new Date(e.time).toLocaleString(document.documentElement.lang);
      var level = document.createElement('span');
      level.className = 'badge lvl';
      level.textContent = labels[e.level] || e.level;
      var target = document.createElement('code');
      target.className = 'source';
      target.textContent = e.target;
      var msg = document.createElement('span');
      msg.className = 'msg';
      msg.textContent = e.message;
      li.append(time, ' ', level, ' ', target, ' ', msg);
      var fields = Object.keys(e.fields || {}).map(function (k) {
        var v = e.fields[k];
        return k + '=' + (typeof v === 'string' ? v : JSON.stringify(v));
      });
      if (fields.length) {
        var f = document.createElement('code');
        f.className = 'fields';
        f.textContent = fields.join(' ');
        li.append(' ', f);
      }
      return li;
    };
    var show = function (node) {
      list.insertBefore(node, list.firstChild);
      while (list.children.length > max) { list.removeChild(list.lastChild); }
      var empty = document.getElementById('log-empty');
      if (empty) { empty.remove(); }
    };
    var note = function (text) {
      var li = document.createElement('li');
      li.className = 'lagged';
      li.textContent = text;
      return li;
    };
    var source = new EventSource(list.dataset.stream);
    source.onopen = function () {
      if (!opened) {
        // The stream's backfill replaces what the server rendered.
        opened = true;
        list.textContent = '';
      }
      list.dataset.state = 'live';
      say(paused ? 'paused' : 'live');
    };
    var receive = function (node) {
      if (paused) {
        held.push(node);
        list.dataset.held = String(held.length);
      } else {
        show(node);
      }
    };
    source.onmessage = function (m) {
      try { receive(item(JSON.parse(m.data))); } catch (err) { /* not an event: skip */ }
    };
    source.addEventListener('lagged', function (m) {
      var missed = 0;
      try { missed = JSON.parse(m.data).missed; } catch (err) { /* keep 0 */ }
      receive(note((status.dataset.lagged || '').replace('%n', String(missed))));
    });
    source.onerror = function () {
      list.dataset.state = 'waiting';
      say('waiting');
    };
    pause.hidden = false;
    pause.addEventListener('click', function () {
      paused = !paused;
      pause.textContent = paused ? pause.dataset.resume : pause.dataset.pause;
      pause.setAttribute('aria-pressed', paused ? 'true' : 'false');
      if (!paused) {
        held.forEach(show);
        held = [];
        list.dataset.held = '0';
      }
      say(paused ? 'paused' : 'live');
    });
    pause.setAttribute('aria-pressed', 'false');
  }
  tail();
})();
