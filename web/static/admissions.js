// The proctor's admissions page (templates/admissions.html) follows the
// live stream GET /api/v1/proctor/live: each "checkin" event — a check-in
// now waiting for admission, or one admitted or rejected here, in another
// tab or by another proctor on any instance — and each (re)connection of
// the stream make the page read itself again and apply the difference.
// New cards come as the server renders them, photos and all; cards gone
// are removed; cards still waiting keep their forms, so that a note being
// typed is not lost, and only their facts (how long waiting) are renewed.

const root = document.getElementById('admissions-page');
if (root && root.dataset.stream && window.EventSource) start(root);

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function start(root) {
  const list = document.getElementById('admissions');
  const empty = document.getElementById('no-admissions');
  const announce = document.getElementById('admissions-announce');
  const status = document.getElementById('live-status');
  const statusText = document.getElementById('live-status-text');
  document.getElementById('refresh-admissions').hidden = true; // the page follows by itself
  status.hidden = false;

  function setStatus(state, text) {
    status.dataset.state = state;
    statusText.textContent = text;
  }

  async function reload() {
    let doc;
    try {
      const res = await fetch(window.location.pathname, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/html' } });
      if (!res.ok) throw new Error(String(res.status));
      doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    } catch {
      setStatus('reconnecting', 'Could not read the check-ins; retrying');
      return;
    }
    const fresh = doc.getElementById('admissions');
    if (!fresh) return;
    const want = [...fresh.children];
    const ids = new Set(want.map((li) => li.id));
    let gone = 0;
    for (const li of [...list.children]) {
      if (ids.has(li.id)) continue;
      li.remove();
      gone++;
    }
    let added = 0;
    let prev = null;
    for (const li of want) {
      let card = document.getElementById(li.id);
      if (card) {
        const facts = card.querySelector('.facts');
        const renewed = li.querySelector('.facts');
        if (facts && renewed) facts.replaceWith(document.importNode(renewed, true));
      } else {
        card = document.importNode(li, true);
        card.classList.add('is-new');
        added++;
      }
      if (prev) prev.after(card);
      else list.prepend(card);
      prev = card;
    }
    list.hidden = want.length === 0;
    empty.hidden = want.length > 0;
    const said = [];
    if (added) said.push(`${plural(added, 'new check-in', 'new check-ins')} waiting for admission.`);
    if (gone) said.push(`${plural(gone, 'check-in was', 'check-ins were')} decided and left the list.`);
    if (said.length) announce.textContent = said.join(' ');
    root.dataset.readAt = String(Date.now());
  }

  let pending = null;
  function scheduleReload() {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      reload();
    }, 150);
  }

  function connect() {
    const stream = new EventSource(root.dataset.stream);
    // "open" comes twice per connection (the browser's, and the server's
    // first event); the reads are coalesced.
    stream.addEventListener('open', () => {
      setStatus('open', 'Live');
      scheduleReload();
    });
    stream.onerror = () => {
      setStatus('reconnecting', 'Reconnecting…');
      if (stream.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
    stream.onmessage = (ev) => {
      try {
        if (JSON.parse(ev.data).type === 'checkin') scheduleReload();
      } catch {
        // a malformed event changes nothing; the next reconnection catches up
      }
    };
  }

  connect();
}
