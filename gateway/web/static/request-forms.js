// The forms of "Mijn gegevens" and the claim declaration (manual 4.1-4.4). Every form works
// without this script (a plain post); with it:
// - a half-filled form is saved as a draft a moment after the typing stops (form[data-draft-url]);
// - a postal code with one municipality fills the municipality in (the options come from htmx);
// - the claim's damaged goods: "+" adds a row, a risk object chosen in one row is disabled in
//   the others (manual 4.4: a risk object can be chosen once);
// - the claim's attachments: each chosen file is listed with its size and a description, the
//   limits are checked before anything is sent, and the form goes as one upload whose progress
//   is shown per file (the files are the body's tail, in order). A refused form comes back as
//   the page with its errors: it replaces the form and the chosen files stay chosen.
// Listening on the document keeps it working for pages htmx swaps in (boosted navigation).
(function () {
  "use strict";
  var DRAFT_DELAY_MS = 1500;
  var timers = new WeakMap();
  var chosenFiles = new WeakMap();  // claim form -> [{file, description}]

  function csrfOf(form) {
    var field = form.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function textFields(form) {
    var body = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "csrf_token") { body.append(name, value); }
    });
    return body;
  }

  function saveDraft(form) {
    var status = form.querySelector("[data-draft-status]");
    fetch(form.dataset.draftUrl, {
      method: "POST", credentials: "same-origin", body: textFields(form),
      headers: {"X-CSRF-Token": csrfOf(form)}
    }).then(function (response) {
      if (!status) { return; }
      var now = new Date();
      var time = String(now.getHours()).padStart(2, "0") + ":" + String(now.getMinutes()).padStart(2, "0");
      status.textContent = response.ok ? status.dataset.saved.replace("{time}", time) : status.dataset.failed;
    }).catch(function () {
      if (status) { status.textContent = status.dataset.failed; }
    });
  }

  function scheduleDraft(form) {
    if (!form.dataset.draftUrl || form.dataset.sending) { return; }
    window.clearTimeout(timers.get(form));
    timers.set(form, window.setTimeout(function () { saveDraft(form); }, DRAFT_DELAY_MS));
  }

  function onEdit(event) {
    var field = event.target;
    if (field.type === "file" || !field.form) { return; }
    scheduleDraft(field.form);
  }

  // --- postal code -> municipality ------------------------------------------------------------
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (!list || list.tagName !== "DATALIST") { return; }
    var field = document.querySelector("input[list='" + list.id + "']");
    var options = list.querySelectorAll("option");
    if (field && options.length === 1 && !field.value) {
      field.value = options[0].value;
      scheduleDraft(field.form);
    }
  });

  // --- damaged goods ---------------------------------------------------------------------------
  function riskSelects(form) {
    return Array.prototype.slice.call(form.querySelectorAll("select[name=risk_object_id]"));
  }

  function disableChosen(form) {
    var selects = riskSelects(form);
    selects.forEach(function (select) {
      var elsewhere = selects.filter(function (other) { return other !== select && other.value; })
        .map(function (other) { return other.value; });
      Array.prototype.forEach.call(select.options, function (option) {
        option.disabled = Boolean(option.value) && elsewhere.indexOf(option.value) >= 0;
      });
    });
    var add = form.querySelector("[data-add-risk]");
    if (add) {
      var choices = selects.length ? selects[0].options.length - 1 : 0;
      add.disabled = selects.length >= choices;
    }
  }

  function renumber(form) {
    riskSelects(form).forEach(function (select, index) {
      var row = select.closest(".risk-row");
      select.id = "risk-object-" + (index + 1);
      var label = row.querySelector("label");
      label.htmlFor = select.id;
      label.textContent = label.dataset.template.replace("{number}", index + 1);
    });
  }

  function addRiskRow(form) {
    var rows = form.querySelector("[data-risk-rows]");
    var template = rows.querySelector(".risk-row");
    var row = template.cloneNode(true);
    var select = row.querySelector("select");
    select.value = "";
    select.removeAttribute("aria-invalid");
    row.querySelectorAll(".field-error").forEach(function (error) { error.remove(); });
    rows.appendChild(row);
    renumber(form);
    disableChosen(form);
    select.focus();
  }

  function removeRiskRow(button) {
    var form = button.form;
    var rows = riskSelects(form);
    var row = button.closest(".risk-row");
    if (rows.length > 1) { row.remove(); } else { row.querySelector("select").value = ""; }
    renumber(form);
    disableChosen(form);
    scheduleDraft(form);
  }

  // --- attachments -----------------------------------------------------------------------------
  function sizeText(form, bytes) {
    var megabytes = bytes / 1048576;
    if (megabytes >= 0.1) {
      return form.dataset.textMb.replace("{size}", megabytes.toLocaleString(document.documentElement.lang, {maximumFractionDigits: 1}));
    }
    return form.dataset.textKb.replace("{size}", Math.max(1, Math.round(bytes / 1024)));
  }

  function say(form, message) {
    var status = form.querySelector("[data-attachment-status]");
    status.textContent = message;
    status.hidden = !message;
  }

  function renderFiles(form) {
    var list = form.querySelector("[data-attachment-list]");
    var entries = chosenFiles.get(form) || [];
    list.textContent = "";
    entries.forEach(function (entry, index) {
      var row = document.createElement("li");
      row.className = "attachment";
      var name = document.createElement("span");
      name.className = "attachment-name";
      name.textContent = entry.file.name;
      var size = document.createElement("span");
      size.className = "attachment-size muted small";
      size.textContent = sizeText(form, entry.file.size);
      var label = document.createElement("label");
      label.className = "attachment-description";
      label.textContent = form.dataset.textDescription + " ";
      var description = document.createElement("input");
      description.maxLength = 200;
      description.value = entry.description;
      description.addEventListener("input", function () { entry.description = description.value; });
      label.appendChild(description);
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", form.dataset.textProgress.replace("{name}", entry.file.name));
      entry.bar = bar;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button ghost";
      remove.textContent = form.dataset.textRemove;
      remove.setAttribute("aria-label", form.dataset.textRemoveNamed.replace("{name}", entry.file.name));
      remove.addEventListener("click", function () {
        entries.splice(index, 1);
        renderFiles(form);
        say(form, "");
      });
      row.append(name, size, label, bar, remove);
      list.appendChild(row);
    });
    var total = entries.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
    var summary = form.querySelector("[data-attachment-total]");
    summary.textContent = entries.length ? form.dataset.textTotal
      .replace("{count}", entries.length).replace("{size}", sizeText(form, total)) : "";
  }

  function addFiles(form, files) {
    var entries = chosenFiles.get(form) || [];
    var maxBytes = Number(form.dataset.maxFileBytes);
    var maxFiles = Number(form.dataset.maxFiles);
    var maxTotal = Number(form.dataset.maxTotalBytes);
    var refused = [];
    Array.prototype.forEach.call(files, function (file) {
      var total = entries.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
      if (file.size > maxBytes) {
        refused.push(form.dataset.textTooLarge.replace("{name}", file.name));
      } else if (entries.length >= maxFiles) {
        refused.push(form.dataset.textTooMany.replace("{name}", file.name));
      } else if (total + file.size > maxTotal) {
        refused.push(form.dataset.textTooLargeTogether.replace("{name}", file.name));
      } else if (file.size === 0) {
        refused.push(form.dataset.textEmpty.replace("{name}", file.name));
      } else {
        entries.push({file: file, description: ""});
      }
    });
    chosenFiles.set(form, entries);
    renderFiles(form);
    say(form, refused.join(" "));
  }

  function showProgress(form, loaded, total) {
    var entries = chosenFiles.get(form) || [];
    var filesBytes = entries.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
    var offset = total - filesBytes;  // the text fields and part headers come first
    entries.forEach(function (entry) {
      var done = Math.min(Math.max(loaded - offset, 0), entry.file.size);
      entry.bar.value = entry.file.size ? Math.round(100 * done / entry.file.size) : 100;
      offset += entry.file.size;
    });
  }

  function sendClaim(form) {
    var entries = chosenFiles.get(form) || [];
    var body = new FormData(form);
    body.delete("attachment");
    body.delete("attachment_description");
    entries.forEach(function (entry) { body.append("attachment_description", entry.description); });
    entries.forEach(function (entry) { body.append("attachment", entry.file, entry.file.name); });
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { showProgress(form, event.loaded, event.total); }
    });
    request.addEventListener("load", function () {
      var url = new URL(request.responseURL || form.action, window.location.href);
      if (request.status === 200 && url.pathname !== new URL(form.action, window.location.href).pathname) {
        window.location.assign(url.href);  // the confirmation page
        return;
      }
      var page = new DOMParser().parseFromString(request.responseText, "text/html");
      var card = form.closest(".form-card");
      var freshCard = page.getElementById(form.id) && page.getElementById(form.id).closest(".form-card");
      if (!card || !freshCard) {  // an error page: show it as a full page would
        document.open();
        document.write(request.responseText);
        document.close();
        return;
      }
      freshCard = document.adoptNode(freshCard);
      card.replaceWith(freshCard);
      var fresh = freshCard.querySelector("form[data-claim-form]");
      chosenFiles.set(fresh, entries.map(function (entry) {
        return {file: entry.file, description: entry.description};
      }));
      setUp(freshCard);
      var problem = freshCard.querySelector("#form-problem");
      if (problem) { problem.scrollIntoView({block: "center"}); }
    });
    request.addEventListener("error", function () {
      delete form.dataset.sending;
      form.querySelector("[type=submit]").disabled = false;
      say(form, form.dataset.textFailed);
    });
    form.dataset.sending = "true";
    form.querySelector("[type=submit]").disabled = true;
    window.clearTimeout(timers.get(form));
    request.send(body);
  }

  function setUp(root) {
    // A form sent back with errors: the summary above it is where a screen reader starts.
    var problem = root.querySelector && root.querySelector("#form-problem");
    if (problem) { problem.focus(); }
    root.querySelectorAll("form[data-claim-form]").forEach(function (form) {
      if (form.dataset.ready) { return; }
      form.dataset.ready = "true";
      form.querySelectorAll("[data-no-script]").forEach(function (element) { element.remove(); });
      form.querySelectorAll("[data-script-only]").forEach(function (element) { element.hidden = false; });
      // Spare empty rows are for a browser without this script: "+" adds them here.
      var selects = riskSelects(form);
      selects.slice(1).forEach(function (select) {
        if (!select.value) { select.closest(".risk-row").remove(); }
      });
      renumber(form);
      disableChosen(form);
      if (!chosenFiles.has(form)) { chosenFiles.set(form, []); }
      renderFiles(form);
    });
  }

  document.addEventListener("input", onEdit);
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-attachment-input]")) {
      addFiles(field.form, field.files);
      field.value = "";
      return;
    }
    if (field.matches && field.matches("select[name=risk_object_id]")) { disableChosen(field.form); }
    onEdit(event);
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button");
    if (!button || !button.form) { return; }
    if (button.hasAttribute("data-add-risk")) {
      event.preventDefault();
      addRiskRow(button.form);
    } else if (button.hasAttribute("data-remove-risk")) {
      event.preventDefault();
      removeRiskRow(button);
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    window.clearTimeout(timers.get(form));
    if (form.hasAttribute("data-claim-form")) {
      event.preventDefault();
      if (!form.dataset.sending) { sendClaim(form); }
    } else if (form.dataset.draftUrl) {
      if (form.dataset.sending) { event.preventDefault(); return; }  // a double click
      form.dataset.sending = "true";
    }
  });
  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:load", function (event) { setUp(event.detail.elt); });
}());
