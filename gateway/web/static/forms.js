// Filters that apply themselves: a form marked data-auto-submit is sent when one of its choices
// changes (an external script, not an onchange attribute: the pages' CSP refuses inline code).
// Its submit button (class auto-submit-fallback) is only needed without JavaScript: hidden here.
// Listening on the document keeps working for content htmx swaps in (boosted navigation).
(function () {
  "use strict";
  function hideFallbacks(root) {
    root.querySelectorAll("form[data-auto-submit] .auto-submit-fallback").forEach(function (button) {
      button.hidden = true;
    });
  }
  document.addEventListener("change", function (event) {
    var field = event.target;
    var form = field.form;
    if (form && form.hasAttribute("data-auto-submit") && field.matches("select, input[type=radio], input[type=checkbox]")) {
      form.requestSubmit();  // a submit event, so htmx's boosted form handles it like a click
    }
  });
  document.addEventListener("DOMContentLoaded", function () { hideFallbacks(document); });
  document.addEventListener("htmx:load", function (event) { hideFallbacks(event.detail.elt); });
}());
