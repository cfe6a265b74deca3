// Reloads a page that shows work in progress (a calibration run) every
// data-refresh-seconds, until the server renders it without the marker.
const marker = document.querySelector('[data-refresh-seconds]');
if (marker) {
  const seconds = Math.max(1, Number(marker.dataset.refreshSeconds) || 3);
  setTimeout(() => window.location.reload(), seconds * 1000);
}
