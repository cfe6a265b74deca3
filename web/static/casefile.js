// Opens a case file's webcam snapshot larger, in a dialog, instead of
// following the link to the image (which still works without scripts).
const dialog = document.getElementById('snapshot-dialog');
if (dialog && typeof dialog.showModal === 'function') {
  const img = document.getElementById('snapshot-large');
  const caption = document.getElementById('snapshot-caption');
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a.cf-snap') : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
      return;
    }
    event.preventDefault();
    img.src = link.href;
    img.alt = link.querySelector('img')?.alt || 'Webcam snapshot';
    caption.textContent = link.dataset.caption || '';
    dialog.showModal();
  });
  dialog.addEventListener('close', () => { img.src = 'data:,'; });
}
