// The answer form of the request desk: files over the limits are said before anything is sent,
// so the typed answer is never lost to a refused upload (the server checks the same limits).
(function () {
  "use strict";
  function check(form) {
    const input = form.querySelector('input[type="file"]');
    const message = form.querySelector(".desk-files-error");
    if (!input || !message) { return true; }
    const files = Array.from(input.files || []);
    const maxFiles = Number(form.dataset.maxFiles);
    const maxBytes = Number(form.dataset.maxBytes);
    const maxTotal = Number(form.dataset.maxTotal);
    const total = files.reduce((sum, file) => sum + file.size, 0);
    let problem = "";
    if (files.length > maxFiles) {
      problem = form.dataset.textTooMany;
    } else if (files.some((file) => file.size > maxBytes) || total > maxTotal) {
      problem = form.dataset.textTooLarge;
    }
    message.textContent = problem;
    message.hidden = !problem;
    return !problem;
  }
  function wire() {
    document.querySelectorAll("form.desk-answer").forEach((form) => {
      if (form.dataset.wired) { return; }
      form.dataset.wired = "1";
      form.addEventListener("change", () => check(form));
      form.addEventListener("submit", (event) => {
        if (!check(form)) { event.preventDefault(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", wire);
  document.addEventListener("htmx:load", wire);
  wire();
}());
