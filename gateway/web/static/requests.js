// "Mijn aanvragen" and the message forms: live updates and attachments. No build step.
//
// Live: the list and the detail listen to the page's event stream (htmx's SSE extension) and
// fetch their part again when something changed. A stream that opens again (after a network
// loss, a bus outage, an expired token) may have missed changes: its parts fetch again too.
//
// Attachments (manual 4.4 and 6: 2 MB a file, 10 files, 10 MB together): checked here before a
// byte is sent, then the form goes as one multipart request whose upload progress is shown per
// file. The server enforces the same limits; what it answers replaces the page, with the typed
// text kept. Without JavaScript the form is an ordinary multipart form.
(function () {
  "use strict";

  // --- live updates ---------------------------------------------------------------------
  document.addEventListener("htmx:sseOpen", function (event) {
    var source = event.detail.elt;
    if (source.dataset.opened) {
      htmx.trigger(document.body, "requests-resync");
    }
    source.dataset.opened = "1";
  });

  // --- attachments ----------------------------------------------------------------------
  function sizeText(bytes) {
    if (bytes >= 1024 * 1024) { return (bytes / 1024 / 1024).toFixed(1) + " MB"; }
    return Math.max(1, Math.round(bytes / 1024)) + " kB";
  }

  function setUp(form) {
    if (form.dataset.ready) { return; }
    form.dataset.ready = "1";
    var text = form.dataset;
    var maxBytes = Number(text.maxBytes);
    var maxFiles = Number(text.maxFiles);
    var maxTotal = Number(text.maxTotal);
    var input = form.querySelector("input[type=file]");
    var list = form.querySelector(".upload-list");
    var summary = form.querySelector(".upload-summary");
    var button = form.querySelector("button[type=submit]");
    var chosen = [];  // {file, row, bar, status}
    if (!input || !list) { return; }

    // The line above the button: a refusal or a lost connection is an alert; "Sending…" is
    // progress, shown in calm colours and announced politely, not as an error.
    function tell(message, progress) {
      summary.textContent = message;
      summary.hidden = !message;
      summary.classList.toggle("progress", Boolean(progress));
      summary.setAttribute("role", progress ? "status" : "alert");
    }

    function problems() {
      var total = 0, found = [];
      chosen.forEach(function (entry) {
        total += entry.file.size;
        if (entry.file.size > maxBytes) {
          entry.status.textContent = text.textTooLarge;
          entry.row.dataset.state = "refused";
          found.push(entry.file.name);
        } else if (entry.file.size === 0) {
          entry.status.textContent = text.textEmpty;
          entry.row.dataset.state = "refused";
          found.push(entry.file.name);
        } else {
          entry.status.textContent = sizeText(entry.file.size);
          entry.row.dataset.state = "waiting";
        }
      });
      var messages = [];
      if (found.length) { messages.push(text.textRemoveRefused); }
      if (chosen.length > maxFiles) { messages.push(text.textTooMany); }
      if (total > maxTotal) { messages.push(text.textTooLargeTogether); }
      tell(messages.join(" "), false);
      return messages.length;
    }

    function add(files) {
      Array.prototype.forEach.call(files, function (file) {
        var row = document.createElement("li");
        row.className = "upload";
        var name = document.createElement("span");
        name.className = "upload-name";
        name.textContent = file.name;
        var bar = document.createElement("progress");
        bar.max = 100;
        bar.value = 0;
        bar.setAttribute("aria-label", file.name);
        var status = document.createElement("span");
        status.className = "upload-status";
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button ghost";
        remove.textContent = text.textRemove;
        remove.setAttribute("aria-label", text.textRemove + ": " + file.name);
        var entry = {file: file, row: row, bar: bar, status: status};
        remove.addEventListener("click", function () {
          chosen.splice(chosen.indexOf(entry), 1);
          row.remove();
          problems();
        });
        row.append(name, bar, status, remove);
        list.appendChild(row);
        chosen.push(entry);
      });
      input.value = "";  // the list holds them; choosing again adds more
      problems();
    }

    input.addEventListener("change", function () { add(input.files); });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.dataset.sending) { return; }  // a double click sends once
      if (problems()) { summary.focus(); return; }
      var body = new FormData(form);
      body.delete(input.name);
      chosen.forEach(function (entry) { body.append(input.name, entry.file, entry.file.name); });
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      var key = form.querySelector("input[name=idempotency_key]");
      if (key) { request.setRequestHeader("Idempotency-Key", key.value); }  // a resend is known before its files go
      request.upload.addEventListener("progress", function (progress) {
        if (!progress.lengthComputable) { return; }
        // The files go one after the other in the body: a share of the bytes is a share of them.
        var sent = chosen.reduce(function (sum, entry) { return sum + entry.file.size; }, 0)
          * progress.loaded / progress.total;
        chosen.forEach(function (entry) {
          var part = Math.min(entry.file.size, Math.max(0, sent));
          entry.bar.value = entry.file.size ? Math.round(100 * part / entry.file.size) : 100;
          sent -= entry.file.size;
        });
      });
      request.addEventListener("load", function () {
        // Sent: the server sent us on to the confirmation. Refused: the answer is this form
        // again, with the reason beside the field and the typed text; it replaces this one.
        if (request.status < 300 && request.responseURL && request.responseURL.indexOf(form.action) !== 0) {
          window.location.assign(request.responseURL);
          return;
        }
        var answer = new DOMParser().parseFromString(request.responseText, "text/html");
        var shown = answer.getElementById("content");
        var content = document.getElementById("content");
        if (!shown || !content) {
          document.documentElement.innerHTML = answer.documentElement.innerHTML;
          return;
        }
        content.innerHTML = shown.innerHTML;
        htmx.process(content);
        setUpAll(content);
        var alert = content.querySelector("[role=alert]");
        if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
      });
      request.addEventListener("error", function () {
        delete form.dataset.sending;
        button.disabled = false;
        tell(text.textFailed, false);
      });
      form.dataset.sending = "1";
      button.disabled = true;
      tell(text.textSending, true);
      request.send(body);
    });
  }

  function setUpAll(root) {
    root.querySelectorAll("form[data-attachments]").forEach(setUp);
  }
  document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  document.addEventListener("htmx:load", function (event) { setUpAll(event.detail.elt); });
}());
