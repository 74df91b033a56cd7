// envflow serve: the page's script. No framework and no build step. It sends
// the page's forms to the JSON API (with the CSRF token), redraws the page
// when the repository's refs move (server-sent events, else polling), and
// loads what waits to go on (the semantic diff) after the page is shown.
// Everything it shows from the server goes in as text or as HTML the server
// escaped; nothing is built from strings here with innerHTML.
(function () {
  'use strict';
  var root = document.documentElement;
  root.classList.remove('no-js');
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute('content') : '';
  var flashBox = document.getElementById('flash');
  var liveBadge = document.getElementById('live');
  var busy = 0;            // actions in flight
  var pending = false;     // a redraw waits for the user to leave a field
  var drawn = 0;           // sequence of the redraw last applied

  // Absolute URLs on this origin: a page opened as http://user:password@host/
  // keeps the credentials in its own URL, and fetch refuses URLs that hold
  // them; the browser still sends what it knows for this origin.
  function here(path) { return location.origin + path; }

  // An object id shortened; any other revision (a branch name) as it is.
  function short(id) {
    if (typeof id !== 'string') { return ''; }
    return /^[0-9a-f]{40}$/.test(id) ? id.slice(0, 7) : id;
  }

  function flash(kind, title, detail, hint) {
    var box = document.createElement('div');
    box.className = 'message ' + kind;
    box.setAttribute('data-kind', kind);
    var text = document.createElement('div');
    var p = document.createElement('p');
    var strong = document.createElement('strong');
    strong.textContent = title;
    p.appendChild(strong);
    if (detail) { p.appendChild(document.createTextNode(' ' + detail)); }
    text.appendChild(p);
    if (hint) {
      var h = document.createElement('p');
      h.className = 'hint';
      h.textContent = hint;
      text.appendChild(h);
    }
    box.appendChild(text);
    var close = document.createElement('button');
    close.type = 'button';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', function () { box.remove(); });
    box.appendChild(close);
    flashBox.replaceChildren(box);
  }

  // What an action did, in words, from the document the CLI prints too.
  function describe(action, d) {
    switch (action) {
      case 'sync':
        if (d.noop) { return d.target + ' is already in sync with ' + d.source + ': nothing to do'; }
        return (d.moved ? 'synced ' : 'would sync ') + d.target + ' ' + short(d.from) + '..' + short(d.to) +
          ' (' + d.commits.length + ' commit' + (d.commits.length === 1 ? '' : 's') + ' from ' + d.source + ')';
      case 'approve':
        return (d.already ? 'already approved ' : 'approved ') + short(d.commit) + ' into ' + d.env +
          ' (' + d.approvals_text + ')';
      case 'publish':
        if (d.outcome === 'nothing') { return 'nothing to publish: ' + d.tag + ' is already live'; }
        return d.outcome + ' ' + d.tag + '; live was ' + (d.previous_live || '(none)');
      case 'rollback':
        return d.noop ? d.tag + ' is already live' : 'rolled back: live ' + (d.previous_live || '(none)') + ' → ' + d.tag;
      case 'hold':
        return d.changed ? 'held auto-promotion into ' + d.env : d.env + ' was already held';
      case 'hold-release':
        return d.changed ? 'released the hold on ' + d.env : d.env + ' was not held';
      case 'var-set':
        return d.changed ? 'set ' + d.name + ' on ' + d.environment : d.name + ' already had that value on ' + d.environment;
      case 'var-unset':
        return d.changed ? 'removed the override of ' + d.name + ' on ' + d.environment : d.name + ' had no override on ' + d.environment;
      case 'backport-apply':
        return d.already ? 'back-port ' + d.issue.id + ' was already closed' : 'back-ported ' + d.issue.hotfix_tag + ' into ' + d.branch;
      default:
        return 'done';
    }
  }

  function fields(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) { return; }
      if (el.type === 'checkbox') { body[el.name] = el.checked; }
      else if (el.value !== '' || el.name === 'value') { body[el.name] = el.value; }
    });
    return body;
  }

  function act(form) {
    var action = form.getAttribute('data-action');
    var url = form.getAttribute('data-url');
    var button = form.querySelector('button[type="submit"]');
    if (button) { button.disabled = true; }
    busy++;
    fetch(here(url), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-Envflow-CSRF': token, 'Accept': 'application/json' },
      body: JSON.stringify(fields(form))
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; },
        function () { return { status: response.status, data: null }; });
    }).then(function (reply) {
      if (reply.status === 200 && reply.data) {
        form.reset(); // done: what was typed for it need not survive the redraw
        flash('ok', 'Done:', describe(action, reply.data));
      } else if (reply.data && reply.data.error) {
        var e = reply.data.error;
        var title = reply.status === 403 ? 'Not allowed:' : reply.status === 409 ? 'Refused:' :
          reply.status === 400 ? 'Cannot do that:' : 'Failed:';
        flash('error', title, e.message, e.hint || '');
      } else {
        flash('error', 'Failed:', 'the server answered HTTP ' + reply.status);
      }
    }, function () {
      flash('error', 'Failed:', 'the server cannot be reached', 'is envflow serve still running?');
    }).then(function () {
      busy--;
      if (button) { button.disabled = false; }
      redraw();
    });
  }

  document.addEventListener('submit', function (event) {
    var form = event.target.closest('form[data-url]');
    if (!form) { return; }
    event.preventDefault();
    act(form);
  });

  // --- What waits: the semantic changes, after the page -------------------
  // The server draws the page without them (envflow diff --values is its
  // slowest document); each .changes-lazy placeholder names two commits and
  // is filled from GET /api/diff. Two commits' diff never changes, so it is
  // kept here and a redraw shows it again at once.
  var MAX_ITEMS = 200;     // as the server's /diff page
  var MAX_VALUE = 2000;
  var diffs = {};          // "from..to" -> {data} or {error}
  var fetching = {};       // "from..to" -> true while its request runs

  function node(tag, className, text) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function valueNode(value) {
    var text = typeof value === 'string' ? value : JSON.stringify(value);
    var cut = text.length > MAX_VALUE;
    var kind = typeof value === 'string' ? 'string' : value === null ? 'null' : 'json';
    var box = document.createDocumentFragment();
    box.appendChild(node('code', 'value value-' + kind, cut ? text.slice(0, MAX_VALUE) : text));
    if (cut) { box.appendChild(node('span', 'more', '… (cut)')); }
    return box;
  }

  function changesTable(diff, from, to) {
    // A rename is one row, on its removed side (as envflow diff shows it).
    var items = (Array.isArray(diff.items) ? diff.items : []).filter(function (item) {
      return !item.renamed_from;
    });
    var box = document.createDocumentFragment();
    if (items.length === 0) {
      box.appendChild(node('p', 'quiet', 'No semantic changes (only files outside the content).'));
      return box;
    }
    box.appendChild(node('p', 'changes-summary quiet', String(diff.summary || '')));
    var table = node('table', 'changes');
    var headRow = node('tr');
    ['', 'Kind', 'Item', 'Field', 'Before', 'After'].forEach(function (h) { headRow.appendChild(node('th', '', h)); });
    table.appendChild(node('thead')).appendChild(headRow);
    var body = table.appendChild(node('tbody'));
    items.slice(0, MAX_ITEMS).forEach(function (item) {
      var to = item.renamed_to;
      var change = to ? 'renamed' : String(item.change || '');
      var sign = change === 'added' ? '+' : change === 'removed' ? '−' : change === 'renamed' ? 'R' : '~';
      function head(row) {
        row.appendChild(node('td', 'sign', sign));
        row.appendChild(node('td', '', item.kind || ''));
        var cell = row.appendChild(node('td'));
        cell.appendChild(node('span', 'item', (item.name || '') + (to ? ' → ' + (to.name || '') : '')));
        cell.appendChild(document.createTextNode(' '));
        cell.appendChild(node('span', 'path', (item.path || '') + (to ? ' → ' + (to.path || '') : '')));
        if (item.breaking) {
          cell.appendChild(document.createTextNode(' '));
          cell.appendChild(node('span', 'badge badge-danger', 'breaking'));
          cell.appendChild(document.createTextNode(' '));
          cell.appendChild(node('span', 'reason', item.reason || ''));
        }
      }
      var values = Array.isArray(item.values) ? item.values : [];
      if (values.length === 0) {
        var row = body.appendChild(node('tr', 'change-' + change));
        head(row);
        row.appendChild(node('td', '', (item.fields || []).join(', ')));
        var what = row.appendChild(node('td', 'quiet', change));
        what.colSpan = 2;
        return;
      }
      values.forEach(function (v, i) {
        var row = body.appendChild(node('tr', 'change-' + change));
        if (i === 0) { head(row); } else { for (var k = 0; k < 3; k++) { row.appendChild(node('td')); } }
        row.appendChild(node('td')).appendChild(node('code', '', v.field || ''));
        ['before', 'after'].forEach(function (side) {
          var cell = row.appendChild(node('td'));
          if (Object.prototype.hasOwnProperty.call(v, side)) { cell.appendChild(valueNode(v[side])); }
          else { cell.appendChild(node('span', 'quiet', '(none)')); }
        });
      });
    });
    box.appendChild(table);
    if (items.length > MAX_ITEMS) {
      var more = node('p', 'more', 'and ' + (items.length - MAX_ITEMS) + ' more: ');
      more.appendChild(node('code', '', 'envflow diff ' + short(from) + ' ' + short(to) + ' --values'));
      box.appendChild(more);
    }
    return box;
  }

  // Show what is known of `place`'s diff: the table, or why it failed.
  function fillChanges(place) {
    var from = place.getAttribute('data-from');
    var to = place.getAttribute('data-to');
    var known = diffs[from + '..' + to];
    if (!known) { return false; }
    var link = place.querySelector('.changes-page');
    if (known.data) {
      place.replaceChildren(changesTable(known.data, from, to));
      place.setAttribute('data-state', 'loaded');
    } else {
      var problem = node('p', 'changes-error', 'The changes could not be loaded: ' + known.error);
      var again = node('button', 'btn btn-secondary', 'Try again');
      again.type = 'button';
      again.addEventListener('click', function () {
        delete diffs[from + '..' + to];
        place.setAttribute('data-state', 'loading');
        place.replaceChildren(node('p', 'changes-loading quiet', 'Loading the changes…'));
        loadChanges();
      });
      problem.appendChild(again);
      place.replaceChildren(problem);
      if (link) { place.appendChild(link); }
      place.setAttribute('data-state', 'error');
    }
    place.removeAttribute('aria-busy');
    return true;
  }

  // Fill every placeholder under `within` (the document by default): from
  // what is known at once, the rest once GET /api/diff answers.
  function loadChanges(within) {
    (within || document).querySelectorAll('.changes-lazy[data-state="loading"]').forEach(function (place) {
      if (fillChanges(place)) { return; }
      place.setAttribute('aria-busy', 'true');
      var from = place.getAttribute('data-from');
      var to = place.getAttribute('data-to');
      var key = from + '..' + to;
      if (fetching[key]) { return; }
      fetching[key] = true;
      var url = '/api/diff?from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to) + '&values=1';
      fetch(here(url), { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (response) {
          return response.json().then(function (data) {
            if (response.ok) { return { data: data }; }
            return { error: data && data.error && data.error.message ? data.error.message : 'HTTP ' + response.status };
          }, function () { return { error: 'the server answered HTTP ' + response.status }; });
        }, function () { return { error: 'the server cannot be reached' }; })
        .then(function (known) {
          delete fetching[key];
          diffs[key] = known;
          // The placeholder may have been redrawn meanwhile: fill the ones shown now.
          document.querySelectorAll('.changes-lazy[data-state="loading"]').forEach(function (p) {
            if (p.getAttribute('data-from') === from && p.getAttribute('data-to') === to) { fillChanges(p); }
          });
        });
    });
  }

  function typing() {
    var el = document.activeElement;
    return el && el.closest && el.closest('#content') && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) &&
      el.type !== 'submit' && el.type !== 'checkbox';
  }

  // Fetch this page again and put its content in place, keeping which
  // sections were open; wait while someone types into a field.
  function redraw() {
    if (typing()) { pending = true; return; }
    pending = false;
    var sequence = ++drawn;
    fetch(here(location.pathname + location.search), { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        if (sequence !== drawn) { return; }
        if (typing()) { pending = true; return; }
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var fresh = doc.getElementById('content');
        var current = document.getElementById('content');
        if (!fresh || !current) { return; }
        var open = {};
        current.querySelectorAll('details[id]').forEach(function (d) { open[d.id] = d.open; });
        fresh.querySelectorAll('details[id]').forEach(function (d) {
          if (Object.prototype.hasOwnProperty.call(open, d.id)) { d.open = open[d.id]; }
        });
        // What someone typed or ticked in a form survives the redraw.
        var edited = {};
        current.querySelectorAll('form[data-url] [name]').forEach(function (el) {
          var key = el.form.getAttribute('data-url') + ' ' + el.name;
          var differs;
          if (el.type === 'checkbox') {
            differs = el.checked !== el.defaultChecked;
          } else if (el.tagName === 'SELECT') {
            differs = el.selectedIndex >= 0 && !el.options[el.selectedIndex].defaultSelected;
          } else {
            differs = el.value !== el.defaultValue;
          }
          if (differs) { edited[key] = el.type === 'checkbox' ? el.checked : el.value; }
        });
        fresh.querySelectorAll('form[data-url] [name]').forEach(function (el) {
          var key = el.form.getAttribute('data-url') + ' ' + el.name;
          if (!Object.prototype.hasOwnProperty.call(edited, key)) { return; }
          if (el.type === 'checkbox') { el.checked = edited[key]; } else { el.value = edited[key]; }
        });
        var shown = {};
        fresh.querySelectorAll('.changes-lazy').forEach(function (p) {
          shown[p.getAttribute('data-from') + '..' + p.getAttribute('data-to')] = true;
        });
        Object.keys(diffs).forEach(function (key) {
          if (!shown[key] || diffs[key].error) { delete diffs[key]; } // keep what is shown; try failures again
        });
        fresh = document.adoptNode(fresh);
        fresh.querySelectorAll('.changes-lazy[data-state="loading"]').forEach(fillChanges);
        current.replaceWith(fresh);
        loadChanges(fresh);
        var who = doc.querySelector('.identity');
        var here = document.querySelector('.identity');
        if (who && here) { here.replaceWith(document.adoptNode(who)); }
        document.title = doc.title;
      }, function () { /* the next event or poll tries again */ });
  }

  document.addEventListener('focusout', function () {
    setTimeout(function () { if (pending && !typing()) { redraw(); } }, 0);
  });

  function version() {
    var content = document.getElementById('content');
    return content ? content.getAttribute('data-version') : '';
  }

  function live(state, text) {
    if (!liveBadge) { return; }
    liveBadge.className = 'live live-' + state;
    liveBadge.textContent = text;
  }

  function changed(data) {
    var v = '';
    try { v = String(JSON.parse(data).version); } catch (e) { return; }
    if (v !== version() && busy === 0) { redraw(); }
  }

  var polling = null;
  function poll() {
    if (polling) { return; }
    live('poll', 'polling');
    polling = setInterval(function () {
      fetch(here('/api/version'), { credentials: 'same-origin' })
        .then(function (r) { return r.text(); })
        .then(changed, function () { live('lost', 'server unreachable'); });
    }, 3000);
  }

  // One event stream per open page. Closed when the page is left: a stream
  // kept by a page in the back/forward cache would hold one of the few
  // connections a browser opens to a host, and after a handful of
  // navigations the next page would wait for one.
  var source = null;
  var failures = 0;
  function connect() {
    if (!window.EventSource) { poll(); return; }
    source = new EventSource(here('/api/events'));
    source.addEventListener('open', function () { failures = 0; live('on', 'live'); });
    source.addEventListener('hello', function (e) { changed(e.data); });
    source.addEventListener('refs', function (e) { changed(e.data); });
    source.addEventListener('error', function () {
      live('lost', 'reconnecting');
      if (++failures >= 5 && source) { source.close(); source = null; poll(); }
    });
  }
  window.addEventListener('pagehide', function () {
    if (source) { source.close(); source = null; }
    if (polling) { clearInterval(polling); polling = null; }
  });
  window.addEventListener('pageshow', function (event) {
    if (event.persisted) { connect(); redraw(); }
  });
  loadChanges();
  connect();
}());
