// The office's "Publish documents" page: several files, each with its title and progress bar.
// Files are sent one after the other (XMLHttpRequest, for its upload progress); a refused file
// shows its reason and the others go on. Then the published ones are announced as one batch, so
// the client gets one e-mail. No build step, no library. The form is not boosted by htmx
// (hx-boost="false"): this script sends it.
(function () {
  "use strict";
  var form = document.getElementById("publish-form");
  if (!form) { return; }
  var text = form.dataset;
  var maxBytes = Number(text.maxBytes);
  var maxFiles = Number(text.maxFiles);
  var input = document.getElementById("publish-files");
  var list = document.getElementById("upload-list");
  var button = document.getElementById("publish-button");
  var overall = document.getElementById("upload-overall");
  var overallBar = document.getElementById("overall-progress");
  var summary = document.getElementById("publish-summary");
  var zone = document.getElementById("drop-zone");
  var contextChoice = document.getElementById("publish-context");
  var entries = [];  // {file, row, title, bar, status, sent, state}
  var busy = false;

  if (contextChoice) {  // the list below follows the chosen context
    contextChoice.addEventListener("change", function () { showContextDocuments(); });
  }

  function stem(name) {
    var dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(0, dot) : name;
  }

  function setStatus(entry, message, state) {
    entry.status.textContent = message;
    entry.state = state;
    entry.row.dataset.state = state;
  }

  function addFiles(files) {
    if (busy) { return; }
    summary.hidden = true;
    Array.prototype.forEach.call(files, function (file) {
      var row = document.createElement("li");
      row.className = "upload";
      var name = document.createElement("span");
      name.className = "upload-name";
      name.textContent = file.name;
      var label = document.createElement("label");
      label.className = "upload-title";
      label.textContent = text.textTitle + " ";
      var title = document.createElement("input");
      title.name = "title";
      title.maxLength = 200;
      title.value = stem(file.name);
      label.appendChild(title);
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      var status = document.createElement("span");
      status.className = "upload-status";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button ghost";
      remove.textContent = text.textRemove;
      var entry = {file: file, row: row, title: title, bar: bar, status: status, sent: 0};
      remove.addEventListener("click", function () {
        if (busy) { return; }
        entries.splice(entries.indexOf(entry), 1);
        row.remove();
        refresh();
      });
      row.append(name, label, bar, status, remove);
      list.appendChild(row);
      entries.push(entry);
      if (file.size > maxBytes) {
        setStatus(entry, text.textTooLarge, "refused");  // known before sending a byte
      } else {
        setStatus(entry, text.textWaiting, "waiting");
      }
    });
    input.value = "";
    refresh();
  }

  function waiting() {
    return entries.filter(function (entry) { return entry.state === "waiting"; });
  }

  function refresh() {
    var count = waiting().length;
    button.disabled = busy || count === 0 || count > maxFiles;
    if (count > maxFiles) {
      summary.textContent = text.textTooMany;
      summary.classList.remove("success");
      summary.hidden = false;
    }
  }

  function showOverall() {
    var total = 0, sent = 0;
    entries.forEach(function (entry) {
      if (entry.state === "refused" && entry.sent === 0) { return; }
      total += entry.file.size;
      sent += entry.state === "sending" ? entry.sent : (entry.state === "waiting" ? 0 : entry.file.size);
    });
    overallBar.value = total ? Math.round(100 * sent / total) : 100;
  }

  function send(entry) {
    return new Promise(function (resolve) {
      var body = new FormData();
      body.append("title", entry.title.value);
      body.append("context", contextChoice ? contextChoice.value : "general");
      body.append("file", entry.file, entry.file.name);
      var request = new XMLHttpRequest();
      request.open("POST", text.filesUrl);
      request.setRequestHeader("X-CSRF-Token", text.csrf);
      request.responseType = "json";
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          entry.sent = Math.min(entry.file.size, event.loaded);
          entry.bar.value = Math.round(100 * event.loaded / event.total);
          showOverall();
        }
      });
      request.addEventListener("load", function () {
        var answer = request.response || {};
        if (request.status === 201 && answer.document_id) {
          entry.bar.value = 100;
          entry.documentId = answer.document_id;
          setStatus(entry, text.textPublished, "published");
        } else {
          setStatus(entry, answer.error || text.textFailed, "refused");
        }
        resolve();
      });
      request.addEventListener("error", function () {
        setStatus(entry, text.textFailed, "refused");
        resolve();
      });
      entry.title.disabled = true;
      setStatus(entry, text.textSending, "sending");
      request.send(body);
    });
  }

  function announce(ids) {
    return new Promise(function (resolve) {
      var request = new XMLHttpRequest();
      request.open("POST", text.batchesUrl);
      request.setRequestHeader("X-CSRF-Token", text.csrf);
      request.setRequestHeader("Content-Type", "application/json");
      request.responseType = "json";
      request.addEventListener("load", function () { resolve(request.response || {}); });
      request.addEventListener("error", function () { resolve({error: text.textFailed}); });
      request.send(JSON.stringify({document_ids: ids}));
    });
  }

  async function publish() {
    var batch = waiting();
    busy = true;
    refresh();
    overall.hidden = false;
    showOverall();
    for (var i = 0; i < batch.length; i += 1) {
      await send(batch[i]);
      showOverall();
    }
    var published = batch.filter(function (entry) { return entry.state === "published"; });
    var lines = [text.textSummary.replace("{published}", published.length)
      .replace("{total}", batch.length)];
    var answer = null;
    if (published.length) {
      answer = await announce(published.map(function (entry) { return entry.documentId; }));
      lines.push(answer.message || answer.error || text.textFailed);
    } else {
      lines.push(text.textNone);
    }
    summary.textContent = lines.join(" ");
    // Every file published and announced: a success; anything refused: a warning to read.
    var succeeded = published.length === batch.length && Boolean(answer && answer.message);
    summary.classList.toggle("success", succeeded);
    summary.hidden = false;
    busy = false;
    refresh();
    if (published.length) { await showContextDocuments(); }
  }

  async function showContextDocuments() {
    // The page of the chosen context, fetched, holds its list (with any new documents).
    var address = text.pageUrl + "&context=" +
      encodeURIComponent(contextChoice ? contextChoice.value : "general");
    var response = await fetch(address, {credentials: "same-origin"});
    var section = document.getElementById("context-documents");
    if (!response.ok || !section) { return; }
    var page = new DOMParser().parseFromString(await response.text(), "text/html");
    var fresh = page.getElementById("context-documents");
    if (fresh) { section.replaceWith(document.adoptNode(fresh)); }
    window.history.replaceState(null, "", address);  // a reload shows the same context
  }

  input.addEventListener("change", function () { addFiles(input.files); });
  if (input.files.length) { addFiles(input.files); }  // chosen before this script ran
  zone.addEventListener("dragover", function (event) {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("dragging");
    addFiles(event.dataTransfer.files);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!busy) { publish(); }
  });
  form.hidden = false;  // without this script the page says it needs JavaScript
  form.dataset.ready = "true";
}());
