// Drives Debian's Chromium (headless) through the site's search box and prints what happened as JSON.
// Usage: node tests/browser/search.mjs CONFIG_JSON
//   CONFIG_JSON: {"url": page to open, "queries": [...], "wait_ms": bound for each wait,
//                 "follow": true to click the first result of the last query, "keyboard": true to press ArrowDown
//                 in the search box, "wasm": false to hide WebAssembly,
//                 "expect": "keyword" or "hybrid", the kind of results to wait for,
//                 "next_url" (or "next_click", a link to follow) and "next_query": then open that page and search
//                 there (output "second"), "next_wait_ready": before that, wait for the model to load untouched}
// Output: {"results": [{query, kind, hits: [{url, heading, title}], ms}], "requests": [urls], "loadMs", ...}
import { launchChromium } from "./chromium.mjs";

const config = JSON.parse(process.argv[2]);
const waitMs = config.wait_ms ?? 120000;
const { context, close } = await launchChromium(config.chromium, undefined);
const output = { results: [], requests: [], console: [] };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(waitMs);
  context.on("request", (request) => output.requests.push(request.url()));
  page.on("console", (message) => output.console.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => output.console.push(`pageerror: ${error.message}`));
  if (config.wasm === false) {
    await page.addInitScript(() => {
      delete globalThis.WebAssembly;
    });
  }
  await page.goto(config.url);
  const input = page.locator(".md-search__input");
  await input.click();
  const started = Date.now();
  for (const [position, query] of config.queries.entries()) {
    const expectKind = config.expect ?? (config.wasm === false ? "keyword" : "hybrid");
    const typed = Date.now();
    await input.fill(query);
    const block = page.locator(".tilsite-search");
    await page.waitForFunction(
      ([q, kind]) => {
        const element = document.querySelector(".tilsite-search");
        return element && element.dataset.query === q && element.dataset.kind === kind;
      },
      [query, expectKind],
      { timeout: waitMs },
    );
    const ms = Date.now() - typed;
    if (position === 0) output.firstResultMs = Date.now() - started;
    const hits = await block.locator(".tilsite-search__hit").evaluateAll((links) =>
      links.map((link) => ({
        url: link.getAttribute("href"),
        heading: link.querySelector("h1").textContent,
        title: link.querySelector(".tilsite-search__note").textContent,
      })),
    );
    output.results.push({
      query,
      kind: await block.getAttribute("data-kind"),
      status: await block.locator(".tilsite-search__status").textContent(),
      hits,
      ms,
      stats: await page.evaluate(() => window.tilsiteSearchStats || null),
    });
  }
  output.stats = await page.evaluate(() => window.tilsiteSearchStats || null);
  // Did any note text run as HTML? (tests put markup in a note and look for its effects)
  output.injected = await page.evaluate(() => ({
    flag: window.tilsiteInjected ?? null,
    elements: document.querySelectorAll(".tilsite-search img, .tilsite-search script, .tilsite-search b").length,
  }));
  if (config.keyboard) {
    await input.focus();
    await page.keyboard.press("ArrowDown");
    output.focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute("href"));
  }
  if (config.next_url || config.next_click) {
    // A second page of the same visit (a full page load; the files are in the browser's cache by now): the time
    // from typing the query to the results by meaning.
    const before = await page.evaluate(() => {
      window.tilsiteSamePage = true; // gone after a full page load, kept by Material's instant navigation
      return document.querySelectorAll("script").length;
    });
    if (config.next_click) {
      // Follow a link of the page (a click event on it, as Material's instant navigation listens for; not the
      // pointer, which the search dialog's closing animation may still cover).
      await page.keyboard.press("Escape");
      const found = await page.evaluate((suffix) => {
        const link = document.querySelector(`a[href$="${suffix}"]`);
        if (link) link.click();
        if (link) return null;
        const links = [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href"));
        return [location.href, links.length, ...links.filter((href) => !href.includes("?h=")).slice(0, 60)];
      }, config.next_click);
      if (found) {
        const [where, count, ...some] = found;
        throw new Error(`no link to ${config.next_click} on ${where} (${count} links: ${some.join(" ")})`);
      }
      await page.waitForURL((url) => url.href.endsWith(config.next_click), { timeout: waitMs });
    } else {
      await page.goto(config.next_url);
    }
    if (config.next_wait_ready) {
      // Without touching the search box: does the model load by itself (the visitor searched by meaning before)?
      await page.waitForFunction(() => window.tilsiteSearchStats && window.tilsiteSearchStats.loadMs > 0, null, {
        timeout: waitMs,
      });
    }
    const next = page.locator(".md-search__input");
    await next.click();
    const typed = Date.now();
    await next.fill(config.next_query);
    await page.waitForFunction(
      (q) => {
        const element = document.querySelector(".tilsite-search");
        return element && element.dataset.query === q && element.dataset.kind === "hybrid";
      },
      config.next_query,
      { timeout: waitMs },
    );
    output.second = {
      ms: Date.now() - typed,
      url: page.url(),
      samePage: await page.evaluate(() => window.tilsiteSamePage === true),
      scriptsBefore: before,
      hits: await page.locator(".tilsite-search__hit").evaluateAll((links) => links.map((link) => link.getAttribute("href"))),
      stats: await page.evaluate(() => window.tilsiteSearchStats || null),
    };
  }
  const last = output.results[output.results.length - 1];
  if (config.follow && last && last.hits.length) {
    await page.locator(".tilsite-search__hit").first().click();
    const anchor = decodeURIComponent(new URL(last.hits[0].url).hash.slice(1));
    await page.waitForFunction((id) => !id || document.getElementById(id) !== null, anchor, { timeout: waitMs });
    output.followed = { url: page.url(), anchor, found: await page.evaluate((id) => !!document.getElementById(id), anchor) };
  }
} catch (error) {
  output.error = String((error && error.message) || error).split("\n")[0];
} finally {
  await close();
}
process.stdout.write(JSON.stringify(output));
