// check.mjs: open the dashboard in headless Chromium, as a person would.
//
//   node tests/browser/check.mjs DIR [ALARM_INSTRUMENT] [PAGE] [WALL24_DIR]
//
// DIR is a www_dir (e.g. build/test-render/www, left by
// `DASH_TEST_OUT=build/test-render build/san/unit/test_render`). Opens,
// over file://, at 390 px (a phone) and 1920 px wide: index.html, PAGE
// (default main/fridge-02/index.html), the first full-size graphs page
// PAGE links, PAGE's alert history, history.html, wall.html and
// wall-dark.html. On every page: every <img> loaded (naturalWidth > 0),
// no console errors, no horizontal overflow on the phone, and axe-core
// (pinned in package-lock.json) finds no serious or critical violation
// (its meta-refresh rules are off: a live monitor reloads by design,
// WCAG 2.2.1's real-time exception). The index shows ALARM_INSTRUMENT
// (default fridge-02) with the "alarm" badge and links wall.html; the
// wall has no script and fits 1920x1080. WALL24_DIR, if given, holds a
// site of 24 instruments whose wall must fit 1920x1080 without
// scrolling. Screenshots go to build/screenshots/. Exit 0 if all held.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const dir = path.resolve(process.argv[2] || 'build/test-render/www');
const alarmInstrument = process.argv[3] || 'fridge-02';
const pagePath = process.argv[4] || 'main/fridge-02/index.html';
const wall24 = process.argv[5] ? path.resolve(process.argv[5]) : null;
const shots = path.resolve('build/screenshots');
const failures = [];
const PHONE = { width: 390, height: 844 };
const WIDE = { width: 1920, height: 1080 };

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

async function axe(page, label) {
	await page.addScriptTag({ path: axePath });
	const result = await page.evaluate(async () => await window.axe.run(document, {
		rules: { 'meta-refresh': { enabled: false },
			'meta-refresh-no-exceptions': { enabled: false } },
	}));
	for (const v of result.violations)
		if (v.impact === 'serious' || v.impact === 'critical')
			failures.push(`${label}: axe ${v.impact} ${v.id}: ${v.help} ` +
				`(${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
	return result.violations.length;
}

async function visit(root, rel, viewport, shotName, checks) {
	const page = await context.newPage();
	await page.setViewportSize(viewport);
	const errors = [];
	const label = `${rel} at ${viewport.width}px`;
	page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
	page.on('pageerror', (e) => errors.push(String(e)));
	const url = pathToFileURL(path.join(root, rel)).href;
	await page.goto(url, { waitUntil: 'load' });
	const imgs = await page.$$eval('img', (els) => els.map((i) => ({
		src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0 })));
	for (const i of imgs)
		if (!i.ok) failures.push(`${label}: image did not load: ${i.src}`);
	for (const e of errors)
		failures.push(`${label}: console error: ${e}`);
	// Nothing may stick out sideways but what scrolls inside its own box.
	const overflow = await page.evaluate(() =>
		document.documentElement.scrollWidth - document.documentElement.clientWidth);
	if (overflow > 1)
		failures.push(`${label}: page is ${overflow}px too wide`);
	// Hostile names are shown as text, never run; no page needs a script.
	if (await page.locator('script').count() !== 0)
		failures.push(`${label}: has a <script> element`);
	if (checks)
		await checks(page, label);
	if (shotName)
		await page.screenshot({ path: path.join(shots, shotName), fullPage: true });
	const nviol = await axe(page, label);
	console.log(`check.mjs: ${label}: ${imgs.length} images, ${errors.length} console errors, ` +
		`${nviol} axe findings`);
	const links = await page.$$eval('a[href]', (els) => els.map((a) => a.getAttribute('href')));
	await page.close();
	return { images: imgs.length, links };
}

async function fits(page, label) {
	const size = await page.evaluate(() => ({
		h: document.documentElement.scrollHeight, w: document.documentElement.scrollWidth }));
	if (size.h > WIDE.height || size.w > WIDE.width)
		failures.push(`${label}: ${size.w}x${size.h} does not fit ${WIDE.width}x${WIDE.height}`);
}

try {
	for (const vp of [WIDE, PHONE]) {
		const tag = vp === WIDE ? '1920' : '390';
		await visit(dir, 'index.html', vp, `index-${tag}.png`, async (page, label) => {
			const card = page.locator('article', { has: page.locator(`a:text-matches("/ ${alarmInstrument}$")`) });
			if (await card.count() !== 1) {
				failures.push(`${label}: no single card for ${alarmInstrument}`);
				return;
			}
			const badge = card.locator('h3 .badge.st-alarm');
			if (await badge.count() !== 1 || (await badge.innerText()).trim() !== 'alarm')
				failures.push(`${label}: ${alarmInstrument} does not show the alarm badge`);
			if (await page.locator('a[href="wall.html"]').count() !== 1)
				failures.push(`${label}: no link to wall.html`);
		});
		const inst = await visit(dir, pagePath, vp, `instrument-${tag}.png`);
		if (inst.images === 0)
			failures.push(`${pagePath}: no images at all`);
		const graphs = inst.links.find((h) => /-graphs\.html$/.test(h));
		if (!graphs)
			failures.push(`${pagePath}: links no full-size graphs page`);
		else
			await visit(dir, path.join(path.dirname(pagePath), graphs), vp, `graphs-${tag}.png`);
		if (!inst.links.includes('history.html'))
			failures.push(`${pagePath}: links no alert history`);
		else
			await visit(dir, path.join(path.dirname(pagePath), 'history.html'), vp, null);
		await visit(dir, 'history.html', vp, `history-${tag}.png`);
		for (const wall of ['wall.html', 'wall-dark.html'])
			await visit(dir, wall, vp, `${wall.replace('.html', '')}-${tag}.png`,
				vp === WIDE ? fits : null);
	}
	const qc = 'main/chem-01/index.html';
	if (existsSync(path.join(dir, qc)))
		await visit(dir, qc, WIDE, 'qc-1920.png');
	if (wall24) {
		for (const wall of ['wall.html', 'wall-dark.html'])
			await visit(wall24, wall, WIDE, `${wall.replace('.html', '')}-24-1920.png`,
				async (page, label) => {
					const n = await page.locator('li.tile').count();
					if (n !== 24)
						failures.push(`${label}: ${n} tiles, expected 24`);
					await fits(page, label);
				});
	}
} finally {
	await context.close();
	rmSync(profile, { recursive: true, force: true });
}

for (const f of failures)
	console.error(`check.mjs: FAIL ${f}`);
console.log(`check.mjs: ${failures.length ? 'FAILED' : 'ok'}; screenshots in ${shots}`);
process.exit(failures.length ? 1 : 0);
