// Zondarr's own enhancement script for the admin pages. Every page works without it; it only
//  - tells the server the admin's time zone (a cookie with the UTC offset in minutes), so times
//    are shown and entered in local time,
//  - shows the password strength while the admin types (the server enforces the rules),
//  - copies the invitation link to the clipboard,
//  - runs "Test connection" in place (the same form post, the answer swapped into the page),
//  - updates a list in place when its filters change (the same GET the form sends; the URL
//    follows, so the back button and a reload work as without it),
//  - says that a long action (a sync) is under way while the server works,
//  - in the wizard builder: keeps the focus on a step's arrow button after it moved, shows an
//    interaction type's settings when it is chosen, and lets steps be dragged into order.
//  - turns the log page's list into a live tail (server-sent events) with pause and resume.
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

  // Progress: a form with data-progress shows that element while its answer is on the way.
  document.querySelectorAll('form[data-progress]').forEach(function (form) {
    var note = document.getElementById(form.dataset.progress);
    if (!note) { return; }
    form.addEventListener('submit', function () { note.hidden = false; });
  });

  // After a move, the pressed button (marked by the server) has the focus again; when the
  // step reached the end that button is gone, and its other one takes the focus.
  var focus = document.querySelector('[data-focus]') || document.querySelector('li[data-moved] button');
  if (focus) { focus.focus(); }

  // A select marked data-autosubmit sends its form when it changes.
  document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
    select.addEventListener('change', function () {
      HTMLFormElement.prototype.submit.call(select.form);
    });
  });

  // Drag a step onto another to put it there: the same move form the arrow buttons send.
  (function () {
    var list = document.getElementById('steps');
    if (!list) { return; }
    var dragged = null;
    list.querySelectorAll('li[data-step]').forEach(function (item) {
      item.draggable = true;
      item.addEventListener('dragstart', function (event) {
        dragged = item;
        item.classList.add('dragging');
        event.dataTransfer.effectAllowed = 'move';
        event.dataTransfer.setData('text/plain', item.dataset.step);
      });
      item.addEventListener('dragend', function () {
        item.classList.remove('dragging');
        dragged = null;
      });
      item.addEventListener('dragover', function (event) {
        if (dragged && dragged !== item) { event.preventDefault(); }
      });
      item.addEventListener('drop', function (event) {
        event.preventDefault();
        if (!dragged || dragged === item) { return; }
        var form = dragged.querySelector('form[data-move]');
        if (!form) { return; }
        form.querySelectorAll('input[name="position"], input[name="dir"]').forEach(function (i) { i.remove(); });
        [['position', item.dataset.index], ['dir', 'drag']].forEach(function (pair) {
          var input = document.createElement('input');
          input.type = 'hidden';
          input.name = pair[0];
          input.value = pair[1];
          form.appendChild(input);
        });
        HTMLFormElement.prototype.submit.call(form);
      });
    });
  })();

  // Live filters: a GET form with data-live="<region id>" reloads only that region. Any
  // failure (or an answer without the region, e.g. the sign-in page) falls back to a full page.
  (function () {
    var form = document.querySelector('form[data-live]');
    var region = form && document.getElementById(form.dataset.live);
    if (!region || !window.fetch || !window.DOMParser || !window.history.pushState) { return; }
    var status = document.createElement('p');
    status.className = 'visually-hidden';
    status.setAttribute('aria-live', 'polite');
    region.parentNode.insertBefore(status, region);
    var seq = 0;
    var load = function (url, push) {
      var mine = ++seq;
      region.setAttribute('aria-busy', 'true');
      fetch(url, { credentials: 'same-origin' })
        .then(function (response) {
          if (!response.ok || response.redirected) { throw new Error('full page'); }
          return response.text();
        })
        .then(function (text) {
          if (mine !== seq) { return; }
          var doc = new DOMParser().parseFromString(text, 'text/html');
          var fresh = doc.getElementById(region.id);
          if (!fresh) { throw new Error('full page'); }
          if (!push) {
            // Back or forward: the fields show what the server rendered for that URL.
            var shown = doc.querySelector('form[data-live]');
            Array.prototype.forEach.call(form.elements, function (field) {
              var same = shown && field.name && shown.elements.namedItem(field.name);
              if (same && 'value' in same) { field.value = same.value; }
            });
          }
          region.replaceChildren.apply(region, Array.prototype.map.call(fresh.childNodes, function (n) {
            return document.importNode(n, true);
          }));
          region.removeAttribute('aria-busy');
          var total = region.querySelector('[data-total]');
          status.textContent = total ? total.textContent : '';
          var here = window.location.pathname + window.location.search;
          if (push === 'replace' || (push && url === here)) {
            window.history.replaceState({ live: true }, '', url);
          } else if (push) {
            window.history.pushState({ live: true }, '', url);
          }
        })
        .catch(function () { window.location.assign(url); });
    };
    var current = function () {
      var query = new URLSearchParams(new FormData(form)).toString();
      return form.getAttribute('action') + (query ? '?' + query : '');
    };
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      window.clearTimeout(typing);
      var mode = pending && typed ? 'replace' : true;
      typed = typed || pending;
      pending = false;
      load(current(), mode);
    });
    form.addEventListener('change', function (event) {
      if (event.target.type !== 'search') { typed = false; load(current(), true); }
    });
    var typing = null;
    var typed = false;
    var pending = false;
    form.addEventListener('input', function (event) {
      if (event.target.type !== 'search') { return; }
      window.clearTimeout(typing);
      pending = true;
      // Typing refines the entry made for this search rather than adding one per pause.
      typing = window.setTimeout(function () {
        pending = false;
        load(current(), typed ? 'replace' : true);
        typed = true;
      }, 350);
    });
    region.addEventListener('click', function (event) {
      var link = event.target.closest('nav.pages a[href]');
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      event.preventDefault();
      load(link.getAttribute('href'), true);
    });
    // Back and forward: the list and the fields follow the URL.
    window.addEventListener('popstate', function () {
      load(window.location.pathname + window.location.search, false);
    });
  })();
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
