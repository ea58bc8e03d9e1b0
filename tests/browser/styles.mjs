// Opens pages in Debian's Chromium (headless) and prints, as JSON, whether the theme's stylesheet applied
// (computed styles, not file existence), the images that loaded, the diagrams drawn and the requests that failed.
// Usage: node tests/browser/styles.mjs CONFIG_JSON   CONFIG_JSON: {"urls": [...], "wait_ms": bound of each wait}
import { join } from "node:path";
import { launchChromium } from "./chromium.mjs";

const config = JSON.parse(process.argv[2]);
const { context, close } = await launchChromium(config.chromium, { width: 1280, height: 900 });
const output = { pages: [] };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(config.wait_ms ?? 30000);
  const failed = [];
  page.on("response", (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
  });
  page.on("requestfailed", (request) => {
    // Requests still under way when the next page is opened are aborted, not failed.
    if (!String(request.failure()?.errorText).includes("ERR_ABORTED")) failed.push(`failed ${request.url()}`);
  });
  for (const url of config.urls) {
    failed.length = 0;
    await page.goto(url, { waitUntil: "load" });
    if (await page.$("pre.mermaid")) {
      // Material draws a diagram into a <div class="mermaid"> in place of its <pre>; bounded by wait_ms.
      await page.waitForSelector("div.mermaid").catch(() => {});
    }
    const styles = await page.evaluate(() => {
      const header = document.querySelector(".md-header");
      const images = [...document.querySelectorAll("article img")];
      return {
        headerPosition: header ? getComputedStyle(header).position : null,
        headerBackground: header ? getComputedStyle(header).backgroundColor : null,
        images: images.length,
        imagesLoaded: images.filter((image) => image.complete && image.naturalWidth > 0).length,
        diagrams: document.querySelectorAll("article div.mermaid").length,
        undrawn: document.querySelectorAll("article pre.mermaid").length,
      };
    });
    if (config.screenshot_dir) {
      await page.screenshot({ path: join(config.screenshot_dir, `${output.pages.length}.png`) });
    }
    output.pages.push({ url, ...styles, failed: [...failed] });
  }
} catch (error) {
  output.error = String(error);
} finally {
  await close();
}
console.log(JSON.stringify(output));
