// renderQuestion: the one renderer of an item as a candidate sees it.
//
// The exam player and the author's live preview both import this module,
// so what an author previews is exactly what a candidate gets. It renders
// one items.CandidateContent (see the Attempt API) as accessible form
// controls and reports every change as an items.Answer:
//
//   single_choice, true_false   radios                  {"choice": "a"}
//   multiple_response           checkboxes              {"choices": ["a", "c"]}
//   numeric                     text, inputmode=decimal {"text": "3.14"}
//   short_text                  text                    {"text": "…"}
//   ordering                    list + Move up/down     {"choices": [every id, in order]}
//   matching                    one <select> per option {"pairs": {"o1": "t2"}}
//
// The stem, exhibit and option html fields come from the server already
// sanitised (items.Renderer) and are the only strings set as HTML;
// everything else is set as text.

const KIND_HINTS = {
  single_choice: 'Choose one answer.',
  true_false: 'Choose true or false.',
  multiple_response: 'Choose all answers that apply.',
  numeric: 'Type a number.',
  short_text: 'Type a short answer.',
  ordering: 'Put the items in order, using the Move up and Move down buttons.',
  matching: 'For each item, choose its match from the list.',
};

// domID turns an author's id into a safe id fragment: letters, digits,
// "-" and "_" stay (so option "b" of the player is "option-b"); anything
// else becomes "_" and its code point, so two ids never meet.
function domID(id) {
  return String(id).replace(/[^A-Za-z0-9_-]/g, (ch) => `_${ch.codePointAt(0).toString(16)}_`);
}

// richHTML returns an element holding sanitised server HTML; a lone
// paragraph is unwrapped so the text can sit inside a label.
function richHTML(tag, html, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  el.innerHTML = html || '';
  const only = el.children.length === 1 ? el.firstElementChild : null;
  if (only && only.tagName === 'P' && el.textContent.trim() === only.textContent.trim()) {
    el.replaceChildren(...only.childNodes);
  }
  return el;
}

// plainText is what sanitised HTML reads as, for places that take text
// only (a <select>'s options, announcements). A <template> parses without
// running or loading anything.
function plainText(html) {
  const t = document.createElement('template');
  t.innerHTML = html || '';
  return t.content.textContent.replace(/\s+/g, ' ').trim();
}

function letter(i) {
  return String.fromCharCode(65 + i);
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'className' || k === 'textContent' || k === 'htmlFor' || k === 'value' || k === 'type' || k === 'name' || k === 'id') e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  e.append(...children);
  return e;
}

// isEmptyAnswer reports whether a holds no response, as items.Answer.Empty.
export function isEmptyAnswer(a) {
  if (!a) return true;
  return !a.choice && !(a.choices && a.choices.length) && !(typeof a.text === 'string' && a.text.trim() !== '') &&
    !(a.pairs && Object.keys(a.pairs).length);
}

/**
 * renderQuestion renders content into container, replacing what was there.
 * @param {HTMLElement} container
 * @param {object} content an items.CandidateContent
 * @param {{answer?: object|null, onAnswer?: ((a: object) => void)|null, readOnly?: boolean, idPrefix?: string}} opts
 * @returns {{focus: () => void, getAnswer: () => object}}
 */
export function renderQuestion(container, content, { answer = null, onAnswer = null, readOnly = false, idPrefix = 'q' } = {}) {
  const kind = content.kind || 'single_choice';
  const p = idPrefix;
  const ids = { stem: `${p}--stem`, exhibit: `${p}--exhibit`, hint: `${p}--hint`, live: `${p}--live` };
  const options = content.options || [];
  const targets = content.targets || [];
  const emit = (a) => { if (onAnswer && !readOnly) onAnswer(a); };

  const root = el('div', { className: `question kind-${kind.replace(/_/g, '-')}`, 'data-kind': kind });
  const stem = richHTML('div', content.stem, 'stem rich');
  stem.id = ids.stem;
  root.append(stem);
  if (content.exhibit) {
    const ex = richHTML('div', content.exhibit, 'exhibit rich');
    ex.id = ids.exhibit;
    ex.setAttribute('role', 'group');
    ex.setAttribute('aria-label', 'Exhibit');
    root.append(ex);
  }
  const describedBy = content.exhibit ? `${ids.stem} ${ids.exhibit}` : ids.stem;
  const fieldset = el('fieldset', { className: 'answer-area', 'aria-describedby': describedBy });
  fieldset.append(el('legend', { className: 'answer-legend', id: ids.hint, textContent: KIND_HINTS[kind] || 'Answer the question.' }));
  if (readOnly) fieldset.disabled = true;
  const live = el('p', { className: 'visually-hidden', id: ids.live, 'aria-live': 'polite', 'aria-atomic': 'true' });
  root.append(fieldset, live);

  let getAnswer = () => ({});
  let first = () => fieldset.querySelector('input, select, button');

  switch (kind) {
    case 'single_choice':
    case 'true_false':
    case 'multiple_response': {
      const multiple = kind === 'multiple_response';
      const chosen = new Set(multiple ? (answer && answer.choices) || [] : answer && answer.choice ? [answer.choice] : []);
      const list = el('div', { className: 'options' });
      options.forEach((o, i) => {
        const input = el('input', {
          type: multiple ? 'checkbox' : 'radio', name: `${p}-choice`, id: `${p}-${domID(o.id)}`, value: o.id,
        });
        input.checked = chosen.has(o.id);
        const label = el('label', { htmlFor: input.id },
          el('span', { className: 'option-letter', 'aria-hidden': 'true', textContent: letter(i) }),
          richHTML('span', o.html, 'option-text rich'));
        list.append(el('div', { className: `option${multiple ? ' is-multiple' : ''}` }, input, label));
      });
      fieldset.append(list);
      const inputs = () => [...list.querySelectorAll('input')];
      getAnswer = () => {
        const on = inputs().filter((i) => i.checked).map((i) => i.value);
        return multiple ? { choices: on } : on.length ? { choice: on[0] } : {};
      };
      list.addEventListener('change', () => emit(getAnswer()));
      first = () => inputs().find((i) => i.checked) || inputs()[0];
      break;
    }

    case 'numeric':
    case 'short_text': {
      const numeric = kind === 'numeric';
      const input = el('input', {
        type: 'text', id: `${p}-text`, name: `${p}-text`, className: `text-answer${numeric ? ' is-numeric' : ''}`,
        inputmode: numeric ? 'decimal' : null, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
        'aria-describedby': `${p}-text-help`,
      });
      input.value = (answer && answer.text) || '';
      const help = el('p', { className: 'hint', id: `${p}-text-help`, textContent: numeric
        ? 'Digits, with a decimal point or comma if needed (for example 3.5). Leave out units unless the question asks for them.'
        : 'Spelling counts; capital letters do not unless the question says so.' });
      fieldset.append(el('div', { className: 'field text-field' },
        el('label', { htmlFor: input.id, textContent: numeric ? 'Your answer (a number)' : 'Your answer' }), input, help));
      getAnswer = () => ({ text: input.value });
      input.addEventListener('input', () => emit(getAnswer()));
      first = () => input;
      break;
    }

    case 'ordering': {
      const known = new Set(options.map((o) => o.id));
      const given = answer && Array.isArray(answer.choices) ? answer.choices : [];
      const valid = given.length === options.length && given.every((id) => known.has(id)) && new Set(given).size === given.length;
      let order = valid ? [...given] : options.map((o) => o.id);
      let answered = valid;
      const byID = new Map(options.map((o) => [o.id, o]));
      const list = el('ol', { className: 'order-list', 'aria-describedby': ids.hint });
      const status = el('p', { className: 'hint order-status', id: `${p}-order-status` });
      const keep = el('button', { type: 'button', className: 'btn btn-secondary btn-sm', id: `${p}-keep-order`, textContent: 'Use this order' });

      const draw = (focusID, focusDir) => {
        list.replaceChildren(...order.map((id, i) => {
          const text = plainText(byID.get(id).html);
          const up = el('button', { type: 'button', className: 'btn btn-secondary btn-sm move', 'data-move': 'up', 'data-id': id,
            'aria-label': `Move up: ${text}`, textContent: '↑ Up' });
          const down = el('button', { type: 'button', className: 'btn btn-secondary btn-sm move', 'data-move': 'down', 'data-id': id,
            'aria-label': `Move down: ${text}`, textContent: '↓ Down' });
          up.disabled = i === 0;
          down.disabled = i === order.length - 1;
          return el('li', { className: 'order-item', 'data-id': id },
            el('span', { className: 'order-pos', 'aria-hidden': 'true', textContent: String(i + 1) }),
            richHTML('span', byID.get(id).html, 'order-text rich'),
            el('span', { className: 'order-moves' }, up, down));
        }));
        status.textContent = answered ? '' : 'Not answered yet: move the items, or choose “Use this order” if it is already right.';
        keep.hidden = answered;
        if (focusID) {
          const row = list.querySelector(`li[data-id="${CSS.escape(focusID)}"]`);
          const want = row.querySelector(`[data-move="${focusDir}"]`);
          (want.disabled ? row.querySelector(`[data-move="${focusDir === 'up' ? 'down' : 'up'}"]`) : want).focus();
        }
      };
      list.addEventListener('click', (e) => {
        const b = e.target.closest('button[data-move]');
        if (!b || b.disabled || readOnly) return;
        const id = b.dataset.id;
        const from = order.indexOf(id);
        const to = b.dataset.move === 'up' ? from - 1 : from + 1;
        if (to < 0 || to >= order.length) return;
        [order[from], order[to]] = [order[to], order[from]];
        answered = true;
        draw(id, b.dataset.move);
        live.textContent = `${plainText(byID.get(id).html)} moved to position ${to + 1} of ${order.length}.`;
        emit(getAnswer());
      });
      keep.addEventListener('click', () => {
        answered = true;
        draw();
        live.textContent = 'Order saved as shown.';
        list.querySelector('button:not(:disabled)').focus();
        emit(getAnswer());
      });
      fieldset.append(list, el('div', { className: 'order-foot' }, status, keep));
      getAnswer = () => (answered ? { choices: [...order] } : {});
      draw();
      first = () => list.querySelector('button:not(:disabled)');
      break;
    }

    case 'matching': {
      const pairs = { ...((answer && answer.pairs) || {}) };
      const choicesID = `${p}-targets`;
      const targetList = el('ol', { className: 'target-list', id: choicesID, type: 'A' },
        ...targets.map((t, i) => el('li', {}, el('span', { className: 'option-letter', 'aria-hidden': 'true', textContent: letter(i) }),
          richHTML('span', t.html, 'option-text rich'))));
      const rows = options.map((o) => {
        const sel = el('select', { id: `${p}-${domID(o.id)}`, name: `${p}-match-${domID(o.id)}`, 'data-option': o.id });
        sel.append(el('option', { value: '', textContent: '— Choose a match —' }),
          ...targets.map((t, i) => el('option', { value: t.id, textContent: `${letter(i)}. ${plainText(t.html)}` })));
        sel.value = targets.some((t) => t.id === pairs[o.id]) ? pairs[o.id] : '';
        return el('div', { className: 'match-row' }, el('label', { htmlFor: sel.id }, richHTML('span', o.html, 'rich')), sel);
      });
      fieldset.append(el('div', { className: 'match-targets' },
        el('p', { className: 'h-tiny', textContent: 'Matches to choose from' }), targetList),
      el('div', { className: 'match-rows' }, ...rows));
      getAnswer = () => {
        const out = {};
        for (const sel of fieldset.querySelectorAll('select')) if (sel.value) out[sel.dataset.option] = sel.value;
        return { pairs: out };
      };
      fieldset.addEventListener('change', () => emit(getAnswer()));
      first = () => fieldset.querySelector('select');
      break;
    }

    default:
      fieldset.append(el('p', { className: 'alert alert-warn', textContent: `This page cannot show questions of kind “${kind}”. Please tell your proctor.` }));
  }

  container.replaceChildren(root);
  return {
    focus() {
      const f = first();
      if (f) f.focus();
    },
    getAnswer,
  };
}
