// Debian's Chromium, headless, in a fresh profile that close() removes: the launch every browser script here
// (and bench/field_browser.mjs) uses. No browser is downloaded; nothing is fetched in the background.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export async function launchChromium(executablePath, viewport) {
  const profile = mkdtempSync(join(tmpdir(), "tilsite-chromium-"));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: executablePath ?? "/usr/bin/chromium",
      headless: true,
      ...(viewport ? { viewport } : {}),
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-quic",
        "--disable-sync",
      ],
    });
    const close = async () => {
      await context.close();
      removeProfile();
    };
    return { context, close };
  } catch (error) {
    removeProfile();
    throw error;
  }
}
