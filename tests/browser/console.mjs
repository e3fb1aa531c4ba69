// The web console in a real browser (headless Debian chromium, driven by
// playwright-core): log in with a token, see the agent, see it current
// after a publish, press "sync now" and see the event arrive live, and
// save a screenshot. Prints "ok ..." / "not ok ..." lines like the other
// tests. Arguments: URL TOKEN AGENT_ID PUBLISH_COMMAND HELD_COMMAND
// SCREENSHOT; HELD_COMMAND succeeds once the agent holds what was
// published.
import { chromium } from 'playwright-core';
import { execSync } from 'node:child_process';

const [url, token, agentId, publish, held, shot] = process.argv.slice(2);
let failed = 0;
function result(ok, name, why) {
	console.log(`${ok ? 'ok' : 'not ok'} ${name}`);
	if (!ok) {
		failed = 1;
		if (why)
			console.error(`    ${why}`);
	}
	return ok;
}
async function step(name, fn) {
	try {
		return result(true, name, await fn());
	} catch (e) {
		return result(false, name, e.message.split('\n')[0]);
	}
}
// Polls fn until it returns true, within ms.
async function until(fn, ms) {
	const end = Date.now() + ms;
	for (;;) {
		if (await fn())
			return;
		if (Date.now() > end)
			throw new Error('timed out');
		await new Promise((r) => setTimeout(r, 250));
	}
}

const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium', headless: true,
	args: ['--no-sandbox'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const row = `#agents-body tr[data-id="${agentId}"]`;
try {
	await step('console: the login form is served', async () => {
		await page.goto(url);
		await page.waitForSelector('#login-form', { timeout: 15000 });
	});
	await step('console: a wrong token is refused', async () => {
		await page.fill('#token', '0'.repeat(64));
		await page.click('#login-submit');
		await page.waitForSelector('#message:not([hidden])',
		    { timeout: 15000 });
	});
	await step('console: log in with the admin token', async () => {
		await page.fill('#token', token);
		await page.click('#login-submit');
		await page.waitForSelector('#nav:not([hidden])',
		    { timeout: 15000 });
	});
	await step('console: the agent is in the agents table', async () => {
		await page.click('a[data-view="agents"]');
		await page.waitForSelector(row, { timeout: 20000 });
	});
	await step('console: after a publish the agent turns current (green)',
	    async () => {
		execSync(publish, { stdio: 'ignore' });
		await until(async () => {
			try {
				execSync(held, { stdio: 'ignore' });
			} catch (e) {
				return false;	/* not installed yet */
			}
			await page.click('#agents-refresh');
			await page.waitForTimeout(300);
			const r = await page.$(row);
			return r !== null &&
			    await r.getAttribute('data-state') === 'current';
		}, 60000);
		const color = await page.$eval(`${row} .badge`, (e) =>
		    getComputedStyle(e).backgroundColor);
		if (!/rgb\(\s*\d+,\s*(\d+),\s*\d+\)/.test(color))
			throw new Error(`no colour: ${color}`);
	});
	await step('console: "sync now" shows up live in the events',
	    async () => {
		await page.click('a[data-view="events"]');
		await page.waitForSelector('#events-body', { timeout: 15000 });
		const count = async () => (await page.$$eval(
		    '#events-body tr', (rs) => rs.filter((r) =>
		    r.innerText.includes('sync-start')).length));
		const before = await count();
		await page.click('a[data-view="dashboard"]');
		await page.click('#sync-now');
		await page.click('a[data-view="events"]');
		await until(async () => await count() > before, 60000);
	});
	await step('console: screenshot saved', async () => {
		await page.screenshot({ path: shot, fullPage: false });
	});
} finally {
	await browser.close();
}
process.exit(failed);
