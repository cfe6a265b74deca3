// The achievement editor: a live badge preview as the name, level, type
// and colour change; add and remove rows of skills; and, in the pathway
// form, only the fields the chosen rule uses. The forms work without it.

const form = document.getElementById('achievement-form');

if (form) {
  const preview = document.getElementById('badge-preview');
  const status = document.getElementById('preview-status');
  const field = (name) => form.elements.namedItem(name);
  const colorValue = document.getElementById('color-value');
  let timer = 0;

  const refresh = () => {
    const name = field('name').value.trim();
    const level = field('level').value.trim() || field('achievement_type').value;
    const color = field('color').value;
    if (colorValue) colorValue.textContent = color;
    const params = new URLSearchParams({ name, level, color });
    preview.src = form.dataset.preview + '?' + params.toString();
  };
  preview.addEventListener('load', () => {
    status.textContent = 'Preview updated.';
  });
  preview.addEventListener('error', () => {
    status.textContent = 'The badge cannot show this text: shorten the name or level.';
  });
  for (const name of ['name', 'level', 'achievement_type', 'color']) {
    const el = field(name);
    if (!el) continue;
    el.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  }

  // Skills: the server renders every row and one blank row; script adds
  // and removes rows.
  const rows = document.getElementById('alignment-rows');
  const add = document.getElementById('add-alignment');
  if (rows && add) {
    let counter = rows.querySelectorAll('[data-row]').length;
    const showRemove = () => {
      for (const b of rows.querySelectorAll('[data-remove-row]')) b.hidden = false;
    };
    showRemove();
    add.hidden = false;
    add.addEventListener('click', () => {
      const template = rows.querySelector('[data-row]');
      const row = template.cloneNode(true);
      for (const input of row.querySelectorAll('input')) {
        const base = input.name;
        input.value = '';
        input.removeAttribute('aria-invalid');
        input.id = base + '-' + counter;
        row.querySelector(`label[for^="${base}-"]`).htmlFor = input.id;
      }
      counter++;
      rows.append(row);
      row.querySelector('input').focus();
    });
    rows.addEventListener('click', (e) => {
      const button = e.target.closest('[data-remove-row]');
      if (!button) return;
      const row = button.closest('[data-row]');
      if (rows.querySelectorAll('[data-row]').length > 1) {
        row.remove();
      } else {
        for (const input of row.querySelectorAll('input')) input.value = '';
      }
      add.focus();
    });
  }
}

// The pathway form shows the fields of the chosen rule only.
const pathway = document.getElementById('pathway-form');
if (pathway) {
  const kind = pathway.elements.namedItem('kind');
  const sync = () => {
    for (const el of pathway.querySelectorAll('[data-kind]')) {
      el.hidden = !el.dataset.kind.split(' ').includes(kind.value);
    }
  };
  kind.addEventListener('change', sync);
  sync();
}
