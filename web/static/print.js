// Buttons marked data-print print the page (the score report has a print
// stylesheet); the Content-Security-Policy forbids inline handlers.
for (const b of document.querySelectorAll('[data-print]')) {
  b.addEventListener('click', () => window.print());
}
