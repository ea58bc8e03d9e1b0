// Opens pages of a built site in Debian's Chromium (headless), takes a viewport screenshot of each, and reports
// whether Material's stylesheet applied, how many content images loaded and which requests to the site failed.
// Usage: node bench/field_browser.mjs CONFIG_JSON   (run by bench/field.py)
//   CONFIG_JSON: {"origin": "http://127.0.0.1:PORT",
//                 "pages": [{"name", "path", "url", "screenshot", "scroll_to": CSS selector of what to show, or null}],
//                 "control_url": a page opened once more with stylesheets blocked, where the style check must fail,
//                 "wait_ms": bound for each wait, "chromium": the executable}
// Output (stdout): {"pages": [{name, path, url, screenshot, style, images, failed_requests, error?}],
//                   "control": {style}, "outside_requests": [urls blocked because they left the site's origin]}
import { launchChromium } from "../tests/browser/chromium.mjs";

const config = JSON.parse(process.argv[2]);
const waitMs = config.wait_ms ?? 30000;
const output = { pages: [], outside_requests: [] };

// Material sets a sticky, coloured header, scales the root font to 125% and gives .md-typeset a 1.6 line
// height; an unstyled page has a static transparent header, a 16px root font and "normal" line height, so
// each check fails there (the control run below confirms it on every run).
function styleCheck() {
  const header = document.querySelector(".md-header");
  const typeset = document.querySelector(".md-typeset");
  const headerStyle = header ? getComputedStyle(header) : null;
  const rootFontSize = getComputedStyle(document.documentElement).fontSize;
  const typesetStyle = typeset ? getComputedStyle(typeset) : null;
  const lineHeightRatio = typesetStyle ? parseFloat(typesetStyle.lineHeight) / parseFloat(typesetStyle.fontSize) : NaN;
  const background = headerStyle ? headerStyle.backgroundColor : "";
  const checks = {
    header_sticky: headerStyle !== null && headerStyle.position === "sticky",
    header_coloured: background !== "" && background !== "transparent" && background !== "rgba(0, 0, 0, 0)",
    root_font_scaled: rootFontSize !== "16px",
    typeset_line_height: Math.abs(lineHeightRatio - 1.6) < 0.05,
  };
  return {
    applied: Object.values(checks).every(Boolean),
    checks,
    header_position: headerStyle ? headerStyle.position : null,
    header_background: background,
    root_font_size: rootFontSize,
    typeset_line_height_ratio: Number.isFinite(lineHeightRatio) ? Number(lineHeightRatio.toFixed(3)) : null,
  };
}

// Images of the page content served by the site; images from other origins are counted apart, because this
// run refuses every request that leaves the local server.
function imageCounts() {
  const content = document.querySelector(".md-content");
  const images = [...(content ?? document).querySelectorAll("img")];
  const local = images.filter((image) => new URL(image.currentSrc || image.src, location.href).origin === location.origin);
  const broken = local.filter((image) => !(image.complete && image.naturalWidth > 0));
  return {
    total: local.length,
    loaded: local.length - broken.length,
    external: images.length - local.length,
    not_loaded: broken.slice(0, 10).map((image) => image.getAttribute("src")),
  };
}

const { context, close } = await launchChromium(config.chromium, { width: 1280, height: 900 });
try {
  // The harness never fetches from the network: anything outside the local server is refused and listed.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(config.origin) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
    output.outside_requests.push(url);
    return route.abort();
  });
  let current = null;
  // One entry per URL: a 404 stylesheet also ends as a failed request (net::ERR_ABORTED).
  const recordFailure = (url, details) => {
    const path = url.slice(config.origin.length);
    if (current && url.startsWith(config.origin) && !current.failed_requests.some((item) => item.path === path)) {
      current.failed_requests.push({ path, ...details });
    }
  };
  context.on("response", (response) => {
    if (response.status() >= 400) recordFailure(response.url(), { status: response.status() });
  });
  context.on("requestfailed", (request) => {
    recordFailure(request.url(), { failure: request.failure()?.errorText ?? "failed" });
  });
  for (const target of config.pages) {
    current = { ...target, failed_requests: [] };
    output.pages.push(current);
    // A tab per page, closed only once its requests have settled: a request that the next navigation
    // cancels would otherwise be reported as a failure of the next page.
    const page = await context.newPage();
    page.setDefaultTimeout(waitMs);
    try {
      const response = await page.goto(target.url, { waitUntil: "load", timeout: waitMs });
      current.status = response ? response.status() : null;
      current.style = await page.evaluate(styleCheck);
      if (target.scroll_to) {
        // 120 px above the element, so the sticky header does not cover it.
        current.scrolled_to = await page.evaluate((selector) => {
          const element = document.querySelector(selector);
          if (!element) return null;
          window.scrollTo(0, Math.max(element.getBoundingClientRect().top + window.scrollY - 120, 0));
          return selector;
        }, target.scroll_to);
        await page.waitForTimeout(300);
      }
      await page.screenshot({ path: target.screenshot, timeout: waitMs });
      // Images below the fold may load lazily: scroll through the page, then wait (bounded) for all to settle.
      await page.evaluate(async () => {
        for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
          window.scrollTo(0, y);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        window.scrollTo(0, 0);
      });
      await page
        .waitForFunction(() => [...document.images].every((image) => image.complete), null, {
          timeout: Math.min(waitMs, 10000),
        })
        .catch(() => {});
      current.images = await page.evaluate(imageCounts);
      await page.waitForLoadState("networkidle", { timeout: Math.min(waitMs, 10000) }).catch(() => {});
    } catch (error) {
      current.error = String((error && error.message) || error).split("\n")[0];
    }
    current = null;
    await page.close();
  }
  // Control: the same check on a page whose stylesheets are refused must say "not applied".
  const control = await context.newPage();
  control.setDefaultTimeout(waitMs);
  try {
    await control.route("**/*.css", (route) => route.abort());
    await control.goto(config.control_url, { waitUntil: "load", timeout: waitMs });
    output.control = { style: await control.evaluate(styleCheck) };
  } catch (error) {
    output.control = { error: String((error && error.message) || error).split("\n")[0] };
  }
} catch (error) {
  output.error = String((error && error.message) || error).split("\n")[0];
} finally {
  await close();
}
process.stdout.write(JSON.stringify(output));
