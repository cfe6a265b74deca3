// Refreshes the proctor's list of live attempts every 15 seconds from
// GET /api/v1/proctor/attempts, while the page is visible and the
// "Refresh" box is ticked.

const table = document.getElementById('proctor-table');
if (table) start(table);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const INFO_KINDS = new Set(['heartbeat', 'focus_gained', 'visibility_visible']);

// formatTime writes a UTC time as the server does in this table: "2 Jan, 15:04".
function formatTime(iso) {
  const d = new Date(iso);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}, ${hh}:${mm}`;
}

function time(iso) {
  return el('time', { datetime: iso }, formatTime(iso));
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function pill(cls, text) {
  return el('span', { class: `pill ${cls}` }, text);
}

function start(table) {
  const labels = JSON.parse(table.dataset.labels || '{}');
  const kinds = Object.keys(labels);
  const body = document.getElementById('proctor-rows');
  const live = document.getElementById('live-count');
  const refreshed = document.getElementById('refreshed');
  const toggle = document.getElementById('auto-refresh');

  function row(a) {
    const incidents = kinds
      .filter((k) => !INFO_KINDS.has(k) && a.counts && a.counts[k] > 0)
      .map((k) => el('li', { class: `pill pill-warn kind-${k}` }, `${labels[k]} ×${a.counts[k]}`));
    const status = a.status === 'in_progress' ? pill('pill-info', 'In progress') : pill('pill-muted', 'Submitted');
    const link = el('a', { href: `/proctor/attempts/${encodeURIComponent(a.attempt_id)}` }, 'Events',
      el('span', { class: 'visually-hidden' }, ` of ${a.candidate}, ${a.exam}`));
    return el('tr', { class: a.incidents > 0 ? 'has-incidents' : '' },
      el('td', {}, el('strong', {}, a.candidate)),
      el('td', {}, a.exam),
      el('td', {}, status),
      el('td', { class: 'nowrap' }, time(a.started_at)),
      el('td', { class: 'nowrap' }, time(a.deadline)),
      el('td', {}, incidents.length
        ? el('div', { class: 'incident-cell' },
          el('span', { class: 'incident-total' }, String(a.incidents), el('span', { class: 'visually-hidden' }, ' incidents:')),
          el('ul', { class: 'incident-list' }, ...incidents))
        : el('span', { class: 'muted' }, 'None')),
      el('td', {}, link));
  }

  async function refresh() {
    if (!toggle.checked || document.visibilityState !== 'visible') return;
    try {
      const res = await fetch(table.dataset.source, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(String(res.status));
      const attempts = await res.json();
      if (attempts.length === 0) {
        body.replaceChildren(el('tr', { class: 'empty-row' },
          el('td', { colspan: '7' }, 'No attempts yet. Attempts appear here as soon as a candidate starts an exam.')));
      } else {
        body.replaceChildren(...attempts.map(row));
      }
      live.textContent = String(attempts.filter((a) => a.status === 'in_progress').length);
      refreshed.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch {
      refreshed.textContent = 'Could not refresh; trying again shortly';
    }
  }

  setInterval(refresh, 15000);
  document.addEventListener('visibilitychange', refresh);
  toggle.addEventListener('change', refresh);
}
