import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The system Chromium (Debian package). playwright-core drives it; it never downloads a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const INSTALL_HINT =
  'install it with `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver` ' +
  '(as root; .ci/run does this when /usr/bin/chromium is missing). Do not run `npx playwright install`: ' +
  'the tests use the system Chromium through playwright-core.';

/** Starts headless Chromium, or fails with a message saying how to install it (browser tests never skip). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium is missing: ${CHROMIUM_PATH} does not exist; ${INSTALL_HINT}`);
  try {
    return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 20_000 });
  } catch (e) {
    throw new Error(`Chromium at ${CHROMIUM_PATH} did not start: ${(e as Error).message}\nIf the install is broken, ${INSTALL_HINT}`);
  }
}

/** test-artifacts/ at the project root (git-ignored): screenshots for a person to look at. */
export const ARTIFACTS_DIR = join(__dirname, '..', '..', 'test-artifacts');

export async function saveScreenshot(page: Page, fileName: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, fileName);
  await page.screenshot({ path, fullPage: true });
  return path;
}
