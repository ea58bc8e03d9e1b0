// tilsite search box: results by meaning inside Material's search dialog.
// Keyword results show at once; the query embedding model loads in a worker on the first focus of the
// search box, and the results are re-ranked by meaning as soon as it is ready. Note text is inserted as
// text only, never as HTML.
import { loadIndex, search } from "./search-core.js";

const base = new URL(".", import.meta.url);
const siteRoot = new URL("../../../", base);
const TOP = 8;
const USED_KEY = "tilsite-search-by-meaning";
const state = {
  index: null,
  indexPromise: null,
  worker: null,
  model: "idle",
  reason: "",
  pending: new Map(),
  serial: 0,
  last: "",
};

function unavailable(reason) {
  state.model = "unavailable";
  state.reason = reason;
  for (const done of state.pending.values()) done(null);
  state.pending.clear();
}

function status(text) {
  const block = ensureBlock();
  if (block) block.querySelector(".tilsite-search__status").textContent = text;
}

function ensureBlock() {
  const result = document.querySelector(".md-search-result");
  if (!result) return null;
  let block = result.querySelector(".tilsite-search");
  if (!block) {
    block = document.createElement("div");
    block.className = "tilsite-search";
    const heading = document.createElement("div");
    heading.className = "md-search-result__meta tilsite-search__status";
    const list = document.createElement("ol");
    list.className = "md-search-result__list tilsite-search__list";
    block.append(heading, list);
    result.prepend(block);
  }
  return block;
}

function loadData() {
  if (!state.indexPromise) {
    state.indexPromise = loadIndex(base).then((index) => {
      state.index = index;
      return index;
    });
  }
  return state.indexPromise;
}

function startModel() {
  if (state.model !== "idle") return;
  if (typeof WebAssembly !== "object" || typeof Worker !== "function") {
    unavailable("this browser has no WebAssembly");
    return;
  }
  state.model = "loading";
  loadData().then((index) => {
    if (!index.manifest.model) {
      // The build's model has no browser copy: this site searches by keywords.
      unavailable("this site's model has no browser copy");
      refresh();
      return;
    }
    try {
      state.worker = new Worker(new URL("search-worker.js", base), { type: "module" });
    } catch (error) {
      unavailable("the search worker could not start");
      refresh();
      return;
    }
    state.worker.onmessage = onWorkerMessage;
    state.worker.onerror = () => {
      unavailable("the search worker failed");
      refresh();
    };
    state.worker.postMessage({ type: "load", model: index.manifest.model, prefix: index.manifest.query_prefix });
  }, () => {
    unavailable("the search index did not load");
  });
}

function onWorkerMessage(event) {
  const message = event.data;
  if (message.type === "ready") {
    state.model = "ready";
    try {
      sessionStorage.setItem(USED_KEY, "1");
    } catch (error) {
      // Storage may be off (private modes): the next page loads the model on focus, as the first did.
    }
    window.tilsiteSearchStats = { ...(window.tilsiteSearchStats || {}), loadMs: message.ms };
    refresh();
  } else if (message.type === "vector") {
    const done = state.pending.get(message.id);
    state.pending.delete(message.id);
    window.tilsiteSearchStats = { ...(window.tilsiteSearchStats || {}), embedMs: message.ms };
    if (done) done(message.vector);
  } else if (message.type === "error") {
    if (message.id === undefined) unavailable("the model did not load");
    const done = state.pending.get(message.id);
    state.pending.delete(message.id);
    if (done) done(null);
    else refresh();
  }
}

function embed(text) {
  return new Promise((resolve) => {
    state.serial += 1;
    state.pending.set(state.serial, resolve);
    state.worker.postMessage({ type: "embed", id: state.serial, text });
  });
}

// `words`: how the box says what it found, in the site's language (index.json, published with this script).
function render(hits, kind, query, words) {
  const block = ensureBlock();
  if (!block) return;
  const list = block.querySelector(".tilsite-search__list");
  list.replaceChildren();
  for (const hit of hits) {
    const item = document.createElement("li");
    item.className = "md-search-result__item";
    const link = document.createElement("a");
    link.className = "md-search-result__link tilsite-search__hit";
    link.href = new URL(hit.url, siteRoot).href;
    link.dataset.kind = kind;
    const article = document.createElement("article");
    article.className = "md-search-result__article md-typeset";
    const title = document.createElement("h1");
    title.textContent = hit.heading || hit.title;
    const where = document.createElement("p");
    where.className = "tilsite-search__note";
    where.textContent = hit.heading && hit.heading !== hit.title ? hit.title : hit.path;
    const snippet = document.createElement("p");
    snippet.textContent = hit.snippet;
    article.append(title, where, snippet);
    link.append(article);
    item.append(link);
    list.append(item);
  }
  // Functions as replacements: a reason or a text holding `$&` stays as written.
  const how = words[state.model].replace("{reason}", () => state.reason);
  const label = (hits.length ? words.found : words.none)
    .replace("{count}", () => String(hits.length))
    .replace("{how}", () => how);
  block.dataset.kind = kind;
  block.dataset.query = query;
  status(label);
}

async function refresh() {
  const input = document.querySelector(".md-search__input");
  const query = input ? input.value : "";
  state.last = query;
  const block = ensureBlock();
  if (!query.trim()) {
    if (block) block.hidden = true;
    return;
  }
  if (block) block.hidden = false;
  let index;
  try {
    index = await loadData();
  } catch (error) {
    // No index (an old build, or a failed download): leave the box to Material's own search.
    if (block) block.hidden = true;
    return;
  }
  if (state.last !== query) return;
  const started = performance.now();
  render(search(index, query, null, TOP), "keyword", query, index.manifest.words);
  const keywordMs = performance.now() - started;
  if (state.model !== "ready") return;
  const vector = await embed(query);
  if (state.last !== query || !vector) return;
  render(search(index, query, vector, TOP), "hybrid", query, index.manifest.words);
  // Timings for the benchmark (bench/site_search.py): keyword results, and query embedded + ranked + shown.
  window.tilsiteSearchStats = { ...window.tilsiteSearchStats, keywordMs, queryMs: performance.now() - started };
}

// A visitor who searched by meaning on an earlier page of this visit gets the model loading at once: with
// Material's instant navigation this script (and the model) stays loaded between pages anyway; after a full
// page load (no instant navigation, no site_url), the model is ready sooner than on a first focus.
try {
  if (sessionStorage.getItem(USED_KEY) === "1") {
    const idle = window.requestIdleCallback || ((run) => setTimeout(run, 200));
    idle(() => startModel());
  }
} catch (error) {
  // No storage: load on focus.
}

let timer = null;
document.addEventListener("focusin", (event) => {
  if (event.target instanceof Element && event.target.matches(".md-search__input")) {
    loadData().catch(() => {});
    startModel();
  }
});
document.addEventListener("input", (event) => {
  if (event.target instanceof Element && event.target.matches(".md-search__input")) {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  }
});
