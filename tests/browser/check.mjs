// check.mjs: open the dashboard in headless Chromium, as a person would.
//
//   node tests/browser/check.mjs DIR [ALARM_INSTRUMENT] [PAGE]
//
// DIR is a www_dir (e.g. build/test-render/www, left by
// `DASH_TEST_OUT=build/test-render build/san/unit/test_render`).
// Opens DIR/index.html and PAGE (default main/fridge-02/index.html) over
// file://, on a desktop and a phone-sized viewport, and checks that every
// <img> loaded (naturalWidth > 0), that the row of ALARM_INSTRUMENT
// (default fridge-02) shows the "alarm" badge, and that the console had
// no errors. Screenshots go to build/screenshots/. Exit 0 if all held.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = path.resolve(process.argv[2] || 'build/test-render/www');
const alarmInstrument = process.argv[3] || 'fridge-02';
const pagePath = process.argv[4] || 'main/fridge-02/index.html';
const shots = path.resolve('build/screenshots');
const failures = [];

if (!existsSync(path.join(dir, 'index.html'))) {
	console.error(`check.mjs: ${dir}/index.html not found`);
	process.exit(2);
}
mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(path.join(tmpdir(), 'labqcd-chromium-'));

const context = await chromium.launchPersistentContext(profile, {
	executablePath: '/usr/bin/chromium',
	headless: true,
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function visit(rel, viewport, shotName, checks) {
	const page = await context.newPage();
	await page.setViewportSize(viewport);
	const errors = [];
	page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
	page.on('pageerror', (e) => errors.push(String(e)));
	const url = pathToFileURL(path.join(dir, rel)).href;
	await page.goto(url, { waitUntil: 'load' });
	const imgs = await page.$$eval('img', (els) => els.map((i) => ({
		src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0 })));
	for (const i of imgs)
		if (!i.ok) failures.push(`${rel}: image did not load: ${i.src}`);
	for (const e of errors)
		failures.push(`${rel}: console error: ${e}`);
	// Nothing may stick out sideways on a phone but scrollable tables.
	const overflow = await page.evaluate(() =>
		document.documentElement.scrollWidth - document.documentElement.clientWidth);
	if (overflow > 1)
		failures.push(`${rel} at ${viewport.width}px: page is ${overflow}px too wide`);
	if (checks)
		await checks(page);
	await page.screenshot({ path: path.join(shots, shotName), fullPage: true });
	console.log(`check.mjs: ${rel} (${viewport.width}px): ${imgs.length} images, ` +
		`${errors.length} console errors`);
	await page.close();
	return imgs.length;
}

try {
	await visit('index.html', { width: 1280, height: 900 }, 'index.png', async (page) => {
		const row = page.locator('tr', { has: page.locator(`a:text-is("${alarmInstrument}")`) });
		if (await row.count() !== 1) {
			failures.push(`index.html: no single row for ${alarmInstrument}`);
			return;
		}
		const badge = row.locator('.badge.st-alarm');
		if (await badge.count() !== 1 || (await badge.innerText()).trim() !== 'alarm')
			failures.push(`index.html: ${alarmInstrument} does not show the alarm badge`);
		// Hostile names are shown as text, never run.
		if (await page.locator('script').count() !== 0)
			failures.push('index.html: has a <script> element');
	});
	await visit('index.html', { width: 390, height: 844 }, 'index-phone.png');
	const n = await visit(pagePath, { width: 1280, height: 900 }, 'instrument.png');
	if (n === 0)
		failures.push(`${pagePath}: no images at all`);
	await visit(pagePath, { width: 390, height: 844 }, 'instrument-phone.png');
	const qc = 'main/chem-01/index.html';
	if (existsSync(path.join(dir, qc)))
		await visit(qc, { width: 1280, height: 900 }, 'qc.png');
} finally {
	await context.close();
	rmSync(profile, { recursive: true, force: true });
}

for (const f of failures)
	console.error(`check.mjs: FAIL ${f}`);
console.log(`check.mjs: ${failures.length ? 'FAILED' : 'ok'}; screenshots in ${shots}`);
process.exit(failures.length ? 1 : 0);
