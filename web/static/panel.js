// panel.js: a panelist's study page. Each item is drawn by question.js,
// exactly as candidates see it (read-only), and every judgement saves as
// it is given, so that nothing is lost between sittings.

import { renderQuestion } from '/static/question.js';

const form = document.getElementById('panel-form');
const data = document.getElementById('panel-items');

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

if (form && data) {
  const contents = JSON.parse(data.textContent || '[]') || [];
  document.querySelectorAll('.panel-question[data-index]').forEach((el) => {
    const content = contents[Number(el.dataset.index)];
    if (content) {
      el.textContent = '';
      renderQuestion(el, content, { readOnly: true, idPrefix: `p${el.dataset.index}` });
    }
  });

  const study = form.dataset.study;
  // show sets a status line's text and its state, which app.css colours
  // like the exam player's save status.
  const show = (id, text, state) => {
    const el = document.getElementById(id);
    if (el) {
      el.textContent = text;
      el.dataset.state = state;
    }
  };

  async function save(url, value, statusId) {
    show(statusId, 'Saving…', 'saving');
    try {
      const resp = await fetch(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrfToken() },
        body: JSON.stringify({ value }),
      });
      if (resp.ok) {
        show(statusId, 'Saved', 'saved');
        return;
      }
      const body = await resp.json().catch(() => ({}));
      show(statusId, `Not saved: ${(body.error && body.error.message) || resp.statusText}`, 'rejected');
    } catch (e) {
      show(statusId, 'Not saved: offline. Use Save when you are back online.', 'offline');
    }
  }

  form.addEventListener('change', (ev) => {
    const input = ev.target;
    if (!(input instanceof HTMLInputElement) || input.value === '') return;
    const value = Number(input.value);
    if (input.dataset.item) {
      const scaled = input.dataset.scale ? value / Number(input.dataset.scale) : value;
      save(`/api/v1/studies/${study}/ratings/${input.dataset.item}`, scaled, `status-${input.dataset.item}`);
    } else if (input.dataset.kind) {
      const group = input.dataset.kind.split('.')[0];
      const statusId = group === 'bookmark' ? 'status-bookmark' : `status-${group}`;
      save(`/api/v1/studies/${study}/judgements/${input.dataset.kind}`, value, statusId);
    }
  });
}
