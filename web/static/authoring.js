// The item editor of the authoring pages.
//
// The form works without this module (it posts and the server answers with
// the page again). With it: the parts of the form that the chosen kind does
// not use are hidden at once; ordering options move up and down with
// buttons; matching selects name their targets as the author types them;
// and a live preview shows the item exactly as candidates get it. The
// preview POSTs the form's content to /api/v1/items/preview (the server
// renders the Markdown, sanitises it and drops the key) and renders the
// answer with the player's own renderQuestion from /static/question.js, so
// what the author sees is what a candidate sees. Should that module fail to
// load, the preview falls back to the rendered stem, exhibit and options.

const form = document.getElementById('item-form');
const preview = document.getElementById('preview');
const status = document.getElementById('preview-status');

let renderQuestion = null;
try {
  ({ renderQuestion } = await import('/static/question.js'));
} catch (err) {
  console.warn('authoring: /static/question.js did not load; the preview shows the stem only', err);
}

if (form) start(form);

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

function start(form) {
  const kind = form.elements.kind;
  // The no-script "show its fields" button is not needed here.
  form.querySelectorAll('.js-hide').forEach((el) => el.remove());
  addMoveButtons(form);
  showKind(form, kind.value);
  kind.addEventListener('change', () => {
    showKind(form, kind.value);
    schedule();
  });
  form.addEventListener('input', (e) => {
    if (e.target.matches('.target-input')) nameTargets(form);
    schedule();
  });
  form.addEventListener('change', schedule);
  nameTargets(form);
  const err = document.getElementById('form-error');
  if (err) err.focus();
  refresh();
}

// showKind shows the parts of the form the kind uses, and hides the rest.
function showKind(form, kind) {
  form.querySelectorAll('[data-kinds]').forEach((el) => {
    el.hidden = !el.dataset.kinds.split(' ').includes(kind);
  });
}

// addMoveButtons gives each option row "move up" and "move down" buttons,
// shown for ordering items, whose rows are in the correct order.
function addMoveButtons(form) {
  const list = document.getElementById('option-rows');
  if (!list || form.querySelector('fieldset[disabled]')) return;
  const live = document.createElement('p');
  live.className = 'visually-hidden';
  live.setAttribute('aria-live', 'polite');
  list.after(live);
  for (const row of list.children) {
    const box = document.createElement('span');
    box.className = 'option-mark option-move';
    box.dataset.kinds = 'ordering';
    for (const [dir, text] of [[-1, 'Up'], [1, 'Down']]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn btn-ghost btn-sm';
      b.textContent = text;
      b.dataset.dir = String(dir);
      box.append(b);
    }
    row.append(box);
  }
  const label = (row) => row.querySelector('.option-input').value.trim() || 'Blank option';
  const relabel = () => {
    [...list.children].forEach((row, i) => {
      const [up, down] = row.querySelectorAll('.option-move button');
      up.setAttribute('aria-label', `Move option ${i + 1} up`);
      down.setAttribute('aria-label', `Move option ${i + 1} down`);
      up.disabled = i === 0;
      down.disabled = i === list.children.length - 1;
    });
  };
  list.addEventListener('click', (e) => {
    const b = e.target.closest('.option-move button');
    if (!b) return;
    const row = b.closest('li');
    const dir = Number(b.dataset.dir);
    const other = dir < 0 ? row.previousElementSibling : row.nextElementSibling;
    if (!other) return;
    if (dir < 0) other.before(row);
    else other.after(row);
    relabel();
    const pos = [...list.children].indexOf(row) + 1;
    live.textContent = `${label(row)} moved to position ${pos}.`;
    // Keep focus on the button pressed, or its twin at an end of the list.
    (b.disabled ? row.querySelector(`.option-move button:not([disabled])`) : b).focus();
    schedule();
  });
  relabel();
}

// nameTargets writes the targets' texts into the matching selects.
function nameTargets(form) {
  const names = new Map();
  form.querySelectorAll('.target-input').forEach((input, i) => {
    const text = input.value.trim();
    names.set(input.dataset.targetId, `Target ${i + 1}${text ? ': ' + text : ''}`);
  });
  form.querySelectorAll('.pair-select option[value]').forEach((opt) => {
    if (names.has(opt.value)) opt.textContent = names.get(opt.value);
  });
}

// contentOf reads the form as item Content (the JSON the server keeps),
// the way the server reads the posted form. It reads the controls
// themselves, not FormData, so a read-only (disabled) form previews too.
function contentOf(form) {
  const el = form.elements;
  const v = (name) => (el[name] ? el[name].value : '');
  const lines = (name) => v(name).split('\n').map((s) => s.trim()).filter(Boolean);
  const kind = v('kind') || 'single_choice';
  const c = { kind, domain: v('domain').trim(), stem: v('stem').trim(), exhibit: v('exhibit').trim(), options: [], key: '' };
  const points = Number(v('points'));
  if (v('points').trim() !== '' && Number.isFinite(points)) c.points = points;
  const rows = [...form.querySelectorAll('#option-rows > li')]
    .map((li) => ({
      id: li.querySelector('[name="option_id"]').value,
      text: li.querySelector('[name="option_text"]').value.trim(),
      li,
    }))
    .filter((r) => r.text !== '');
  const options = rows.map((r) => ({ id: r.id, text: r.text }));
  switch (kind) {
    case 'single_choice':
      c.options = options;
      break;
    case 'true_false':
      c.options = [{ id: 'true', text: 'True' }, { id: 'false', text: 'False' }];
      break;
    case 'multiple_response':
    case 'ordering':
      c.options = options;
      break;
    case 'matching':
      c.options = options;
      c.targets = [...form.querySelectorAll('#target-rows > li')]
        .map((li) => ({ id: li.querySelector('[name="target_id"]').value, text: li.querySelector('[name="target_text"]').value.trim() }))
        .filter((t) => t.text !== '');
      break;
    default:
      c.options = null;
  }
  return c;
}

let timer = 0;
let inflight = null;

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(refresh, 300);
}

async function refresh() {
  if (!preview) return;
  const content = contentOf(form);
  if (inflight) inflight.abort();
  inflight = new AbortController();
  try {
    const resp = await fetch('/api/v1/items/preview', {
      method: 'POST',
      credentials: 'same-origin',
      signal: inflight.signal,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrfToken() },
      body: JSON.stringify(content),
    });
    const body = await resp.json();
    if (!resp.ok) {
      say(body.error ? body.error.message : `Preview failed (${resp.status})`);
      return;
    }
    show(body);
    say('');
  } catch (err) {
    if (err.name !== 'AbortError') say('Preview unavailable; check your connection.');
  }
}

function say(text) {
  if (status) status.textContent = text;
}

// show renders the candidate's view of the item into the preview pane.
function show(content) {
  preview.dataset.kind = content.kind;
  preview.replaceChildren();
  if (!content.stem) {
    const p = document.createElement('p');
    p.className = 'muted small';
    p.textContent = 'Write the question to see it here.';
    preview.append(p);
    return;
  }
  if (renderQuestion) {
    try {
      renderQuestion(preview, content, { idPrefix: 'preview' });
      return;
    } catch (err) {
      console.warn('authoring: renderQuestion failed', err);
      preview.replaceChildren();
    }
  }
  // The fallback: the server's sanitised HTML, as is.
  const stem = document.createElement('div');
  stem.className = 'stem prose';
  stem.innerHTML = content.stem;
  preview.append(stem);
  if (content.exhibit) {
    const ex = document.createElement('div');
    ex.className = 'exhibit prose';
    ex.innerHTML = content.exhibit;
    preview.append(ex);
  }
  if (content.options && content.options.length) {
    const ol = document.createElement('ol');
    ol.className = 'preview-options';
    for (const o of content.options) {
      const li = document.createElement('li');
      li.innerHTML = o.html;
      ol.append(li);
    }
    preview.append(ol);
  }
}
