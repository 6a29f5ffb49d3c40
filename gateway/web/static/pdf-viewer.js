// The document viewer: pdf.js (vendored at install time, deploy/vendor-pdfjs.sh) draws one page
// at a time on a canvas, with previous/next, zoom and fit-to-width. The page's CSP stays strict:
// this file and pdf.js come from /static, the worker too; no inline script, no plug-in.
// A module runs once per document, but htmx's boosted navigation brings viewers in later:
// every viewer found now or in swapped-in content (htmx:load) is started once.
import * as pdfjs from "/static/vendor/pdfjs/pdf.min.mjs";

const VENDOR = "/static/vendor/pdfjs/";
pdfjs.GlobalWorkerOptions.workerSrc = VENDOR + "pdf.worker.min.mjs";
const ZOOM_STEP = 1.25;
const MIN_SCALE = 0.25;
const MAX_SCALE = 5;
// 100 % is the paper's own size on screen: a PDF point is 1/72 inch, a CSS pixel 1/96 inch.
const ACTUAL_SIZE = 96 / 72;
// Safari on iPhones draws nothing on a canvas of more pixels than this (4096 x 4096): a zoomed
// page on a sharp screen is drawn with fewer device pixels per CSS pixel instead.
const MAX_CANVAS_PIXELS = 4096 * 4096;
const open = new Set();  // viewers with a loaded document, destroyed when swapped away

function start(root) {
  root.querySelectorAll(".pdf-viewer:not([data-started])").forEach(function (element) {
    element.dataset.started = "true";
    show(element);
  });
}

async function show(element) {
  const text = element.dataset;
  const toolbar = element.querySelector(".pdf-toolbar");
  const stage = element.querySelector(".pdf-stage");
  const canvas = element.querySelector("canvas.pdf-page");
  const pageNumber = element.querySelector(".pdf-page-number");
  const zoomLevel = element.querySelector(".pdf-zoom-level");
  const percent = new Intl.NumberFormat(document.documentElement.lang || undefined,
                                        {style: "percent"});
  const state = {page: 1, fit: true, scale: 1, task: null, drawing: null, pending: false};

  const task = pdfjs.getDocument({
    url: text.src,
    withCredentials: true,
    cMapUrl: VENDOR + "cmaps/",
    cMapPacked: true,
    standardFontDataUrl: VENDOR + "standard_fonts/",
    wasmUrl: VENDOR + "wasm/",
    iccUrl: VENDOR + "iccs/",
    enableXfa: false,
  });
  let pdf;
  try {
    pdf = await task.promise;
  } catch (error) {
    element.dataset.state = "failed";
    const message = document.createElement("p");
    message.className = "notice";
    message.setAttribute("role", "alert");
    message.textContent = text.textFailed;
    stage.replaceWith(message);
    return;
  }
  open.add({element: element, task: task});

  function fitScale(page) {
    const width = page.getViewport({scale: 1}).width;
    return Math.max(MIN_SCALE, (stage.clientWidth - 2) / width);  // inside the 1px borders
  }

  async function draw() {
    if (state.drawing) {  // one drawing at a time; the newest request wins
      state.pending = true;
      return;
    }
    const page = await pdf.getPage(state.page);
    if (state.fit) { state.scale = fitScale(page); }
    const viewport = page.getViewport({scale: state.scale});
    const area = viewport.width * viewport.height;
    const ratio = Math.min(window.devicePixelRatio || 1, Math.sqrt(MAX_CANVAS_PIXELS / area));
    canvas.width = Math.floor(viewport.width * ratio);
    canvas.height = Math.floor(viewport.height * ratio);
    canvas.style.width = Math.floor(viewport.width) + "px";
    canvas.style.height = Math.floor(viewport.height) + "px";
    state.drawing = page.render({
      canvas: canvas,
      viewport: viewport,
      transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0],
    });
    try {
      await state.drawing.promise;
      element.dataset.drawnPage = String(state.page);
    } catch (error) {
      if (!(error instanceof pdfjs.RenderingCancelledException)) { throw error; }
    } finally {
      state.drawing = null;
    }
    pageNumber.textContent = text.textPage.replace("{page}", state.page)
      .replace("{pages}", pdf.numPages);
    zoomLevel.textContent = percent.format(state.scale / ACTUAL_SIZE);
    toolbar.querySelector("[data-action=previous]").disabled = state.page <= 1;
    toolbar.querySelector("[data-action=next]").disabled = state.page >= pdf.numPages;
    toolbar.querySelector("[data-action=zoom-out]").disabled = state.scale <= MIN_SCALE;
    toolbar.querySelector("[data-action=zoom-in]").disabled = state.scale >= MAX_SCALE;
    if (state.pending) {
      state.pending = false;
      await draw();
    }
  }

  const actions = {
    "previous": function () { state.page = Math.max(1, state.page - 1); },
    "next": function () { state.page = Math.min(pdf.numPages, state.page + 1); },
    "zoom-in": function () { state.fit = false; state.scale = Math.min(MAX_SCALE, state.scale * ZOOM_STEP); },
    "zoom-out": function () { state.fit = false; state.scale = Math.max(MIN_SCALE, state.scale / ZOOM_STEP); },
    "fit-width": function () { state.fit = true; },
  };
  toolbar.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) { return; }
    actions[button.dataset.action]();
    draw();
  });
  let lastWidth = stage.clientWidth;
  new ResizeObserver(function () {  // a turned phone or a resized window: fit again
    if (state.fit && stage.clientWidth !== lastWidth) {
      lastWidth = stage.clientWidth;
      draw();
    }
  }).observe(stage);

  toolbar.hidden = false;
  element.querySelector(".pdf-fallback").hidden = true;  // the download stays in the header
  element.dataset.state = "shown";
  await draw();
}

function forgetRemoved() {
  open.forEach(function (viewer) {
    if (!viewer.element.isConnected) {
      viewer.task.destroy();  // ends the worker's work for a page that is gone
      open.delete(viewer);
    }
  });
}

start(document);
document.addEventListener("htmx:load", function (event) { start(event.detail.elt); });
document.addEventListener("htmx:afterSwap", forgetRemoved);
