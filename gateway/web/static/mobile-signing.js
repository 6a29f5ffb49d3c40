// The mobile signature (manual 5.1) on a phone: enrol this device once (SMS code, a photo of the
// ID card's back, a PIN and a key pair), then sign with the PIN and the device's key.
// The key pair is made by WebCrypto (ECDSA P-256) with a private key that cannot be exported,
// and kept in IndexedDB with the enrolment's id: only the public key ever leaves the phone.
// Each step posts a form (with the CSRF field) to /signing/<id>/mobile/<step> and reads JSON.
(function () {
  "use strict";

  const DB_NAME = "mybroker-signing";
  const STORE = "device-keys";

  function openDb() {
    return new Promise(function (resolve, reject) {
      const opening = indexedDB.open(DB_NAME, 1);
      opening.onupgradeneeded = function () { opening.result.createObjectStore(STORE); };
      opening.onsuccess = function () { resolve(opening.result); };
      opening.onerror = function () { reject(opening.error); };
    });
  }

  function withStore(mode, action) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        const transaction = db.transaction(STORE, mode);
        const request = action(transaction.objectStore(STORE));
        transaction.oncomplete = function () { resolve(request.result); db.close(); };
        transaction.onerror = function () { reject(transaction.error); db.close(); };
      });
    });
  }

  const keys = {
    get: function (account) { return withStore("readonly", function (s) { return s.get(account); }); },
    put: function (account, record) { return withStore("readwrite", function (s) { return s.put(record, account); }); },
    remove: function (account) { return withStore("readwrite", function (s) { return s.delete(account); }); },
  };

  function base64(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i += 1) { text += String.fromCharCode(bytes[i]); }
    return btoa(text);
  }

  function setUp(root) {
    if (root.dataset.ready) { return; }
    root.dataset.ready = "yes";
    const base = "/signing/" + root.dataset.request + "/mobile";
    const account = root.dataset.account;
    const message = root.querySelector("[data-message]");
    const busy = root.querySelector("[data-busy]");
    let enrolmentId = null;

    function say(text) {
      message.textContent = text || "";
      message.hidden = !text;
    }

    function show(step) {
      root.querySelectorAll("[data-step]").forEach(function (section) {
        section.hidden = section.dataset.step !== step;
      });
      const field = root.querySelector('[data-step="' + step + '"] input:not([type=checkbox])');
      if (field) { field.focus(); }
    }

    function post(step, fields) {
      const form = new FormData();
      form.append("csrf_token", root.dataset.csrf);
      Object.keys(fields).forEach(function (name) { form.append(name, fields[name]); });
      busy.hidden = false;
      return fetch(base + "/" + step, { method: "POST", body: form, credentials: "same-origin" })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            busy.hidden = true;
            return { ok: response.ok, status: response.status, body: body };
          });
        }, function () { busy.hidden = true; return { ok: false, status: 0, body: {} }; });
    }

    function refused(answer) {
      say(answer.body.message || root.dataset.failed);
      const reason = (answer.body.fields || {}).reason;
      if (reason === "locked" || reason === "revoked") {
        return keys.remove(account).then(function () { show("start"); });
      }
      return Promise.resolve();
    }

    function showEnrolment(enrolment) {
      enrolmentId = enrolment.enrolment_id;
      if (enrolment.state === "code_sent") {
        root.querySelector("[data-phone]").textContent = enrolment.phone_masked;
        show("code");
      } else if (enrolment.state === "phone_validated") {
        show("card");
      } else if (enrolment.state === "identity_validated") {
        show("pin-new");
      }
    }

    const actions = {
      start: function () {
        return post("enrolment", {}).then(function (answer) {
          if (!answer.ok) { return refused(answer); }
          say("");
          showEnrolment(answer.body);
          return null;
        });
      },
      code: function () {
        const code = root.querySelector("#sms-code").value.trim();
        return post("code", { enrolment_id: enrolmentId, code: code }).then(function (answer) {
          const tries = root.querySelector("[data-tries]");
          if (!answer.ok) {
            tries.textContent = answer.body.message || "";
            return refused(answer);
          }
          say("");
          tries.textContent = "";
          showEnrolment(answer.body);
          return null;
        });
      },
      card: function () {
        const input = root.querySelector("#id-photo");
        if (!input.files.length) { input.focus(); return Promise.resolve(); }
        return post("id-card", { enrolment_id: enrolmentId, photo: input.files[0] })
          .then(function (answer) {
            if (!answer.ok) { return refused(answer); }
            say("");
            showEnrolment(answer.body);
            return null;
          });
      },
      finish: function () {
        const pin = root.querySelector("#new-pin").value.trim();
        let pair = null;
        return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false,
                                         ["sign", "verify"])
          .then(function (made) {
            pair = made;
            return crypto.subtle.exportKey("spki", made.publicKey);
          })
          .then(function (spki) {
            return post("finish", { enrolment_id: enrolmentId, pin: pin, public_key: base64(spki) });
          })
          .then(function (answer) {
            if (!answer.ok) { return refused(answer); }
            return keys.put(account, { enrolmentId: enrolmentId, privateKey: pair.privateKey })
              .then(function () { say(""); show("sign"); });
          });
      },
      sign: function () {
        const approved = root.querySelector("[data-approved]");
        if (!approved.checked) { approved.focus(); return Promise.resolve(); }
        const pin = root.querySelector("#pin").value.trim();
        return keys.get(account).then(function (record) {
          if (!record) { show("start"); return null; }
          return post("challenge", { enrolment_id: record.enrolmentId, pin: pin })
            .then(function (answer) {
              const tries = root.querySelector("[data-pin-tries]");
              if (answer.status === 409) { window.location.assign(root.dataset.done); return null; }
              if (!answer.ok) {
                tries.textContent = answer.body.message || "";
                return refused(answer);
              }
              tries.textContent = "";
              const payload = new TextEncoder().encode(answer.body.payload);
              return crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, record.privateKey,
                                        payload)
                .then(function (signature) {
                  return post("sign", {
                    enrolment_id: record.enrolmentId, nonce: answer.body.nonce,
                    signature: base64(signature), approved: "yes",
                  });
                })
                .then(function (signed) {
                  if (signed.ok || signed.status === 409) {
                    window.location.assign(root.dataset.done);
                    return null;
                  }
                  return refused(signed);
                });
            });
        });
      },
    };

    root.addEventListener("click", function (event) {
      const button = event.target.closest("[data-action]");
      if (!button || !actions[button.dataset.action]) { return; }
      event.preventDefault();
      button.disabled = true;
      actions[button.dataset.action]().catch(function () { say(root.dataset.failed); })
        .then(function () { button.disabled = false; });
    });

    if (root.dataset.opened !== "yes") { show("read"); return; }
    if (!window.crypto || !crypto.subtle || !window.indexedDB) {
      say(root.dataset.noWebcrypto);
      show("none");
      return;
    }
    keys.get(account).then(function (record) {
      if (!record) { show("start"); return null; }
      return fetch(base + "/status?enrolment_id=" + encodeURIComponent(record.enrolmentId),
                   { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (status) {
          if (status.enrolment && status.enrolment.state === "active") {
            const tries = status.enrolment.pin_tries_left;
            show("sign");
            if (tries < 5) {
              root.querySelector("[data-pin-tries]").textContent = root.dataset.triesLeft
                .replace("%(count)s", String(tries));
            }
            return null;
          }
          return keys.remove(account).then(function () { show("start"); });
        });
    }).catch(function () { show("start"); });
  }

  function init() {
    document.querySelectorAll("#mobile-signing").forEach(setUp);
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:load", init);
})();
