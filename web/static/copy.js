// Copy buttons: <button data-copy="input-id"> copies that input's value to
// the clipboard and says so in #copy-status.

const status = document.getElementById('copy-status');

document.addEventListener('click', async (e) => {
  const button = e.target.closest('button[data-copy]');
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  if (!input) return;
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    input.select();
  }
  const label = button.textContent;
  button.textContent = copied ? 'Copied' : 'Press Ctrl+C';
  if (status) status.textContent = copied ? 'Link copied to the clipboard.' : 'The link is selected; press Ctrl+C to copy it.';
  setTimeout(() => {
    button.textContent = label;
  }, 2000);
});
