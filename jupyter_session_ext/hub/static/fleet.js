/*
 * The fleet page: a row per user from api/fleet, sortable, expandable to
 * the user's servers and kernels; "Shut down idle…" asks first, then POSTs
 * to api/fleet/users/{user}/shutdown-idle. What the reader's Hub scopes
 * allow (figures only, or the sessions; shutting down) the body says, and
 * the service enforces it. No framework: the page is served
 * by the Hub service, outside JupyterLab; its figures are formatted by the
 * panel's own format.js (copied here by the build). Every name and every
 * piece of code is untrusted (it comes from users' servers): written with
 * textContent only.
 */
import {
  endedReason,
  exitReason,
  firstLine,
  formatBytes as bytes,
  formatDuration as duration,
  formatRelative as ago,
  formatUsedOf
} from './format.js';

{
  const body = document.body;
  const xsrf = body.dataset.xsrf;
  const refreshSeconds = Number(body.dataset.refreshSeconds) || 0;
  const readSessions = body.dataset.readSessions === 'yes';
  const shutDown = body.dataset.shutDown === 'yes';
  const api = new URL('api/fleet', location.href.split('?')[0].replace(/\/?$/, '/'));

  // Users drawn at once: a page of 500 rows took a third of a second to sort
  // (benchmarks/fleet_scale.py); the filter finds anyone beyond.
  const PAGE = 100;

  const state = {
    view: null,
    shown: PAGE,
    sortKey: 'memory_bytes',
    descending: true,
    expanded: new Set(),
    filter: '',
    loading: false,
    loadFailed: false
  };

  // -- formatting: the panel's own (format.js), and for figures a server may not give

  /** A figure a server may not have given (null): shown as a dash, not a zero. */
  function ifGiven(value, show, otherwise = '—') {
    return value === null || value === undefined ? otherwise : show(value);
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'className') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  // -- talking to the service ------------------------------------------------------

  async function request(url, options) {
    const response = await fetch(url, {
      credentials: 'same-origin',
      ...options,
      headers: { 'X-XSRFToken': xsrf, ...(options && options.headers) }
    });
    const text = await response.text();
    let data;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { error: text.slice(0, 200) };
    }
    if (!response.ok) {
      throw new Error((data && data.error) || `HTTP ${response.status}`);
    }
    return data;
  }

  async function load() {
    if (state.loading) return;
    state.loading = true;
    document.getElementById('refresh').disabled = true;
    try {
      state.view = await request(api);
      if (state.loadFailed) say(''); // what an action said stays
      state.loadFailed = false;
      render();
    } catch (err) {
      state.loadFailed = true;
      say(`Could not gather the fleet: ${err.message}`, true);
    } finally {
      state.loading = false;
      document.getElementById('refresh').disabled = false;
    }
  }

  function say(text, isError) {
    const message = document.getElementById('message');
    message.textContent = text;
    message.classList.toggle('fleet-mod-error', !!isError);
  }

  // -- drawing ---------------------------------------------------------------------

  function sortedUsers() {
    const filter = state.filter.toLowerCase();
    const users = state.view.users.filter(u => u.name.toLowerCase().includes(filter));
    const key = state.sortKey;
    const sign = state.descending ? -1 : 1;
    return users.sort((a, b) => {
      const order = key === 'name' ? a.name.localeCompare(b.name) : a[key] - b[key];
      return order * sign || a.name.localeCompare(b.name);
    });
  }

  function render() {
    const started = performance.now(); // "fleet-render": benchmarks/fleet_scale.py reads it
    const view = state.view;
    renderTotals(view);
    const tbody = document.querySelector('#fleet tbody');
    tbody.replaceChildren();
    const users = sortedUsers();
    for (const user of users.slice(0, state.shown)) {
      tbody.append(userRow(user));
      if (state.expanded.has(user.name)) {
        tbody.append(
          detailsRow(
            user,
            view.servers.filter(s => s.user === user.name)
          )
        );
      }
    }
    document.getElementById('empty').hidden = view.users.length > 0;
    document.getElementById('more').hidden = users.length <= state.shown;
    document.getElementById('more-text').textContent =
      `Showing ${Math.min(state.shown, users.length)} of ${users.length} users`;
    document.getElementById('more-button').textContent =
      `Show ${Math.min(PAGE, users.length - state.shown)} more`;
    for (const th of document.querySelectorAll('#fleet th[data-sort]')) {
      th.setAttribute(
        'aria-sort',
        th.dataset.sort === state.sortKey ? (state.descending ? 'descending' : 'ascending') : 'none'
      );
    }
    document.getElementById('as-of').textContent =
      `As of ${new Date(view.gathered).toLocaleTimeString()} · gathered in ${Math.round(view.gathered_ms)} ms`;
    performance.clearMeasures('fleet-render'); // the last render's only: a page stays open for days
    performance.measure('fleet-render', { start: started });
  }

  function renderTotals(view) {
    const sum = key => view.users.reduce((total, u) => total + u[key], 0);
    const unreachable = sum('unreachable');
    const killed = sum('killed');
    const oom = sum('oom');
    const chips = [
      [view.users.length, 'users'],
      [view.servers.length, 'servers'],
      [sum('kernels'), 'kernels'],
      [sum('busy'), 'busy'],
      [bytes(sum('memory_bytes')), 'memory'],
      [unreachable, 'unreachable', unreachable > 0],
      [killed, 'killed', killed > 0],
      [oom, 'out of memory', oom > 0]
    ];
    document
      .getElementById('totals')
      .replaceChildren(
        ...chips.map(([value, label, warn]) =>
          el(
            'span',
            { className: 'fleet-total' + (warn ? ' fleet-mod-warn' : '') },
            el('b', { text: String(value) }),
            label
          )
        )
      );
  }

  /** "1.2 of 2.0 GB" where the user's servers say their limit (red past
   * their warning fraction), else the kernels' memory. */
  function memoryCell(user, known) {
    if (!known) {
      return el('td', { className: 'fleet-num', text: '—' });
    }
    const limit = user.memory_limit_bytes;
    if (!limit || user.memory_used_bytes === null) {
      return el('td', { className: 'fleet-num', text: bytes(user.memory_bytes) });
    }
    return el('td', {
      className: 'fleet-num' + (user.memory_warning ? ' fleet-error' : ''),
      title: `Used of the memory limit of the user's servers; kernels: ${bytes(user.memory_bytes)}`,
      text: formatUsedOf(user.memory_used_bytes, limit)
    });
  }

  function userRow(user) {
    const expanded = state.expanded.has(user.name);
    const toggle = () => {
      if (expanded) state.expanded.delete(user.name);
      else state.expanded.add(user.name);
      render();
    };
    const badges = [];
    if (user.unreachable) {
      badges.push(
        el('span', {
          className: 'fleet-badge fleet-mod-error',
          text:
            user.unreachable === user.servers ? 'unreachable' : `${user.unreachable} unreachable`
        })
      );
    }
    if (user.servers > 1) {
      badges.push(el('span', { className: 'fleet-badge', text: `${user.servers} servers` }));
    }
    // No figures for a user none of whose servers answered: zeros would look measured.
    const known = user.unreachable < user.servers;
    const figure = text => el('td', { className: 'fleet-num', text: known ? text : '—' });
    return el(
      'tr',
      { className: 'fleet-user' + (expanded ? ' fleet-mod-expanded' : ''), 'data-user': user.name },
      el(
        'td',
        {},
        readSessions
          ? el('button', {
              className: 'fleet-expand',
              type: 'button',
              'aria-expanded': String(expanded),
              'aria-label': `Kernels of ${user.name}`,
              text: expanded ? '▾' : '▸',
              onclick: toggle
            })
          : null
      ),
      el('td', { className: 'fleet-name' }, user.name, ...badges),
      figure(String(user.kernels)),
      user.busy
        ? el(
            'td',
            { className: 'fleet-num' },
            el('span', {
              className: 'fleet-badge fleet-mod-busy',
              text: String(user.busy)
            })
          )
        : figure('0'),
      memoryCell(user, known),
      figure(`${user.cpu_percent.toFixed(0)}%`),
      figure(user.kernels ? duration(user.max_idle_seconds) : ''),
      figure(String(user.ended)),
      el('td', {
        className: 'fleet-num' + (user.killed ? ' fleet-error' : ''),
        text: known || user.killed ? String(user.killed) : '—'
      }),
      el('td', {
        className: 'fleet-num' + (user.oom ? ' fleet-error' : ''),
        text: known || user.oom ? String(user.oom) : '—'
      }),
      el(
        'td',
        { className: 'fleet-col-actions' },
        shutDown
          ? el('button', {
              type: 'button',
              className: 'fleet-button',
              text: 'Shut down idle…',
              disabled: user.kernels - user.busy > 0 ? null : 'disabled',
              onclick: () => confirmShutdown(user)
            })
          : null
      )
    );
  }

  function detailsRow(user, servers) {
    const parts = servers.map(server => {
      const title = server.server_name ? `Server “${server.server_name}”` : 'Default server';
      const section = el(
        'section',
        { className: 'fleet-server' },
        el(
          'h3',
          {},
          title,
          el('span', {
            className: 'fleet-muted',
            text: ` · answered in ${Math.round(server.elapsed_ms)} ms`
          })
        )
      );
      if (!server.reachable) {
        section.append(
          el('p', {
            className: 'fleet-error',
            text: server.invalid ? server.error.replace(/^i/, 'I') : `Unreachable: ${server.error}`
          })
        );
        return section;
      }
      section.append(
        server.sessions.length
          ? kernelTable(server.sessions)
          : el('p', { className: 'fleet-muted', text: 'No kernels.' })
      );
      if (server.ended.length) {
        section.append(
          el(
            'ul',
            { className: 'fleet-ended', 'aria-label': 'Ended lately' },
            ...server.ended.map(endedItem)
          )
        );
      }
      return section;
    });
    return el(
      'tr',
      { className: 'fleet-details', 'data-user': user.name },
      el('td', { colspan: '11' }, ...parts)
    );
  }

  function kernelTable(sessions) {
    const head = el(
      'tr',
      {},
      ...['Status', 'Kernel', 'Notebook', 'Running', 'Busy / idle', 'Memory', 'CPU', 'Clients'].map(
        (h, i) => el('th', { className: i >= 4 ? 'fleet-num' : '', text: h })
      )
    );
    const rows = sessions.map(s => {
      const active = s.execution_queue && s.execution_queue.active;
      const queued = s.execution_queue ? s.execution_queue.length : 0;
      const usage = s.resource_usage || {};
      const running = active
        ? firstLine(active.code) + (queued ? `  (+${queued} queued)` : '')
        : '';
      return el(
        'tr',
        { 'data-kernel': s.session_id },
        el(
          'td',
          { className: 'fleet-status' },
          el('span', { className: `fleet-dot fleet-mod-${s.status}` }),
          s.status,
          lastExit(s.last_exit)
        ),
        el('td', { text: s.display_name, title: s.session_id }),
        el('td', { text: s.notebook_path || `(${s.session_mode})` }),
        el('td', { className: 'fleet-code', text: running, title: active ? active.code : '' }),
        el('td', {
          className: 'fleet-num',
          text:
            s.status === 'busy'
              ? ifGiven(s.busy_seconds, v => `busy ${duration(v)}`)
              : ifGiven(s.idle_seconds, v => `idle ${duration(v)}`)
        }),
        el('td', {
          className: 'fleet-num',
          text: usage.memory_bytes != null ? bytes(usage.memory_bytes) : ''
        }),
        el('td', {
          className: 'fleet-num',
          text: usage.cpu_percent != null ? `${usage.cpu_percent.toFixed(0)}%` : ''
        }),
        el('td', { className: 'fleet-num', text: ifGiven(s.connections, String) })
      );
    });
    return el(
      'table',
      { className: 'fleet-kernels' },
      el('thead', {}, head),
      el('tbody', {}, ...rows)
    );
  }

  /** A kernel restarted after its process was killed or exited on its own. */
  function lastExit(exit) {
    if (!exit || exit.reason === 'restarted') return null;
    return el('span', {
      className: 'fleet-badge fleet-mod-error',
      text: `${exitReason(exit)}, restarted`,
      title: `The kernel's previous process ended ${ago(exit.ended)}; the server started a new one.`
    });
  }

  function endedItem(e) {
    return el(
      'li',
      {},
      el('span', {
        className: e.reason === 'killed' ? 'fleet-mod-killed' : '',
        text: endedReason(e),
        // Where its process faulted, when it did (the server's one line).
        title: e.fault
      }),
      ` · ${e.display_name} · ${e.notebook_path || e.session_mode} · ${ago(e.ended)}`
    );
  }

  // -- shutting down a user's idle kernels -------------------------------------------

  function confirmShutdown(user) {
    const dialog = document.getElementById('confirm');
    const servers = state.view.servers.filter(s => s.user === user.name && s.reachable);
    const select = document.getElementById('confirm-server');
    select.replaceChildren(
      ...servers.map(s => el('option', { value: s.server_name, text: s.server_name || 'default' }))
    );
    document.getElementById('confirm-server-label').hidden = servers.length < 2;
    const minutes = document.getElementById('confirm-minutes');
    const preview = () => {
      const server = servers.find(s => s.server_name === select.value);
      const limit = Math.max(0, Math.floor(Number(minutes.value) || 0)) * 60;
      if (server && !server.sessions) {
        // Figures only: which kernels those are is not this reader's to see.
        document.getElementById('confirm-preview').textContent =
          'Its kernels idle that long now will be shut down.';
        return;
      }
      const chosen = server
        ? server.sessions.filter(
            s => (s.status === 'idle' || s.status === 'ready') && s.idle_seconds >= limit
          )
        : [];
      document.getElementById('confirm-preview').textContent = chosen.length
        ? `${chosen.length} kernel(s) now: ` +
          chosen.map(s => s.notebook_path || s.display_name).join(', ')
        : 'No kernel is idle that long now.';
    };
    document.getElementById('confirm-title').textContent = `Shut down ${user.name}'s idle kernels?`;
    minutes.oninput = preview;
    select.onchange = preview;
    preview();
    dialog.returnValue = '';
    dialog.onclose = async () => {
      if (dialog.returnValue !== 'confirm') return;
      const limit = Math.max(0, Math.floor(Number(minutes.value) || 0)) * 60;
      try {
        const result = await request(
          new URL(`users/${encodeURIComponent(user.name)}/shutdown-idle`, api + '/'),
          {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ min_idle_seconds: limit, server_name: select.value })
          }
        );
        const failed = Object.keys(result.failed || {}).length;
        say(
          result.error
            ? `${user.name}: ${result.error}`
            : `Shut down ${result.shut_down.length} of ${user.name}'s kernels` +
                (failed ? ` (${failed} failed)` : '') +
                '.',
          !!(result.error || failed)
        );
      } catch (err) {
        say(`Could not shut down ${user.name}'s kernels: ${err.message}`, true);
      }
      load();
    };
    dialog.showModal();
  }

  // -- wiring ----------------------------------------------------------------------

  for (const th of document.querySelectorAll('#fleet th[data-sort]')) {
    th.querySelector('button').addEventListener('click', () => {
      const key = th.dataset.sort;
      state.descending = key === state.sortKey ? !state.descending : key !== 'name';
      state.sortKey = key;
      if (state.view) render();
    });
  }
  document.getElementById('more-button').addEventListener('click', () => {
    state.shown += PAGE;
    render();
  });
  document.getElementById('filter').addEventListener('input', event => {
    state.filter = event.target.value;
    state.shown = PAGE;
    if (state.view) render();
  });
  document.getElementById('refresh').addEventListener('click', load);
  if (refreshSeconds > 0) {
    setInterval(() => {
      if (!document.hidden && !document.getElementById('confirm').open) load();
    }, refreshSeconds * 1000);
  }
  load();
}
