// Opens a site's topics page in Debian's Chromium (headless), in the light and the dark palette, and prints as
// JSON what a visitor gets from the map: the dots and their colours, whether the labels stand out from the
// background, the title shown when a dot has the keyboard focus, and where Enter on that dot leads.
// Usage: node tests/browser/topics_map.mjs CONFIG_JSON   CONFIG_JSON: {"url": topics page, "wait_ms": bound}
import { launchChromium } from "./chromium.mjs";

const config = JSON.parse(process.argv[2]);
const output = { schemes: {} };
for (const scheme of ["light", "dark"]) {
  const { context, close } = await launchChromium(config.chromium, { width: 1280, height: 900 });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(config.wait_ms ?? 30000);
    // The site's palettes follow the system's preference (as `tilsite init` writes them).
    await page.emulateMedia({ colorScheme: scheme });
    const started = Date.now();
    await page.goto(config.url, { waitUntil: "load" });
    const loadMs = Date.now() - started;
    const look = await page.evaluate(() => {
      const luminance = (color) => {
        const [r, g, b] = color.match(/[\d.]+/g).slice(0, 3).map(Number).map((value) => {
          const channel = value / 255;
          return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const contrast = (one, two) => {
        const [light, dark] = [luminance(one), luminance(two)].sort((a, b) => b - a);
        return (light + 0.05) / (dark + 0.05);
      };
      const area = document.querySelector(".tilsite-map-area");
      const background = getComputedStyle(document.body).backgroundColor;
      const dots = [...document.querySelectorAll(".tilsite-map-area a.tilsite-dot")];
      const label = document.querySelector(".tilsite-map-label");
      return {
        scheme: document.body.getAttribute("data-md-color-scheme"),
        dots: dots.length,
        colours: [...new Set(dots.map((dot) => getComputedStyle(dot).backgroundColor))].length,
        dotContrast: Math.min(
          ...dots.slice(0, 200).map((dot) => contrast(getComputedStyle(dot).backgroundColor, background)),
        ),
        labelContrast: label ? contrast(getComputedStyle(label).color, background) : null,
        titlesShown: dots.filter((dot) => getComputedStyle(dot.querySelector(".tilsite-dot-title")).display !== "none")
          .length,
        mapWidth: area ? area.getBoundingClientRect().width : 0,
        mapHeight: area ? area.getBoundingClientRect().height : 0,
      };
    });
    // The keyboard: Tab until a dot has the focus (bounded), then its title is shown and Enter opens it.
    let focused = null;
    for (let presses = 0; presses < 400 && !focused; presses++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => {
        const active = document.activeElement;
        return active && active.closest(".tilsite-map") ? active.getAttribute("aria-label") : null;
      });
    }
    // The focused dot's title is shown beside it (and only that one).
    const tip = await page.evaluate(() => {
      const shown = [...document.querySelectorAll(".tilsite-dot-title")].filter(
        (title) => getComputedStyle(title).display !== "none",
      );
      return shown.length === 1 && shown[0].closest("a") === document.activeElement ? shown[0].textContent : null;
    });
    const href = await page.evaluate(() => document.activeElement?.href ?? null);
    let opened = null;
    if (focused) {
      await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
      opened = page.url();
    }
    output.schemes[scheme] = { ...look, loadMs, focused, tip, href, opened };
  } catch (error) {
    output.error = String(error);
  } finally {
    await close();
  }
}
console.log(JSON.stringify(output));
