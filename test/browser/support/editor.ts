/**
 * Driving the real n8n 2.41.1 editor in Debian's Chromium with playwright-core (no browser download).
 * Selectors were measured on n8n 2.41.1 (see ../../../../shared/N8N-NOTES.md, "Editor selectors").
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

import { REPO_ROOT } from '../../../scripts/lib/n8n-instance';

/** The little of the DOM the page functions below use (this project's tsconfig has no DOM lib). */
interface DomElement {
	getAttribute(name: string): string | null;
	parentElement: DomElement | null;
	textContent: string | null;
	innerText: string;
	querySelectorAll(selector: string): Iterable<DomElement>;
	getBoundingClientRect(): { width: number; height: number };
	checkVisibility(options?: Record<string, boolean>): boolean;
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Git-ignored (.tmp/). */
export const SCREENSHOT_DIR = join(REPO_ROOT, '.tmp', 'screenshots', 'browser');

/** Page loads take ~9 s on 2 busy cores; every wait is a wait for a condition, with room to spare. */
export const UI_TIMEOUT = 45_000;

export interface EditorBrowser {
	context: BrowserContext;
	page: Page;
	close(): Promise<void>;
}

export async function launchEditorBrowser(): Promise<EditorBrowser> {
	if (!existsSync(CHROMIUM)) {
		throw new Error(`${CHROMIUM} is missing: run \`npm run setup\` (it installs Debian's chromium with scripts/apt-install.sh; no browser is downloaded)`);
	}
	// A fresh profile per run: nothing remembered from an earlier run (theme, sessions, caches).
	const profile = mkdtempSync(join(tmpdir(), 'gemini-omni-chromium-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-dev-shm-usage',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
		],
		viewport: { width: 1440, height: 900 },
		colorScheme: 'light',
	});
	// The editor reads its theme from localStorage; the screenshots (and the docs image) are light.
	await context.addInitScript(() => (globalThis as any).localStorage.setItem('N8N_THEME', 'light'));
	context.setDefaultTimeout(UI_TIMEOUT);
	const page = context.pages()[0] ?? (await context.newPage());
	return {
		context,
		page,
		async close() {
			await context.close().catch(() => undefined);
			rmSync(profile, { recursive: true, force: true });
		},
	};
}

/** Closes the toasts ("Credential successfully created…") and parks the mouse, for a clean picture. */
export async function tidyForScreenshot(page: Page): Promise<void> {
	const closeButtons = page.locator('.el-notification .el-notification__closeBtn:visible');
	const deadline = Date.now() + UI_TIMEOUT;
	for (let count = await closeButtons.count(); count > 0; count = await closeButtons.count()) {
		if (Date.now() > deadline) throw new Error(`${count} toast(s) still open after ${UI_TIMEOUT / 1000} s of closing them`);
		// On a loaded machine a toast can slide or close by itself while it is clicked (Playwright: "element
		// was detached from the DOM", retried until the click's timeout): then the next look finds fewer
		// toasts, or the next click gets the one that is left.
		await closeButtons
			.first()
			.click({ timeout: 5_000 })
			.catch(() => undefined);
		await waitForValue(() => closeButtons.count(), (left) => left < count, { what: 'a toast to close', timeoutMs: 5_000 }).catch(() => undefined);
	}
	await page.mouse.move(1, 1);
}

export async function screenshot(page: Page, name: string, target?: Locator): Promise<string> {
	mkdirSync(SCREENSHOT_DIR, { recursive: true });
	const path = join(SCREENSHOT_DIR, `${name}.png`);
	if (target) await target.screenshot({ path });
	else await page.screenshot({ path });
	return path;
}

/**
 * Polls `read` until `accept` takes its value; returns it, or throws with the last value seen.
 * For things Playwright's locators cannot wait for by themselves (a whole list of labels, say).
 */
export async function waitForValue<T>(
	read: () => Promise<T>,
	accept: (value: T) => boolean,
	options: { timeoutMs?: number; what: string },
): Promise<T> {
	const deadline = Date.now() + (options.timeoutMs ?? UI_TIMEOUT);
	let last: T | undefined;
	let lastError: unknown;
	for (;;) {
		try {
			last = await read();
			if (accept(last)) return last;
		} catch (error) {
			lastError = error;
		}
		if (Date.now() > deadline) {
			throw new Error(
				`Timed out waiting for ${options.what}; last seen: ${JSON.stringify(last)}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
			);
		}
		await new Promise((done) => setTimeout(done, 250));
	}
}

export async function signIn(page: Page, baseUrl: string, owner: { email: string; password: string }): Promise<void> {
	await page.goto(`${baseUrl}/signin`);
	await page.locator('input[name="emailOrLdapLoginId"]').fill(owner.email);
	await page.locator('input[name="password"]').fill(owner.password);
	await page.locator('[data-test-id="form-submit-button"]').click();
	await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: UI_TIMEOUT });
}

/** A new, empty workflow in the editor, ready for its first node. */
export async function openNewWorkflow(page: Page, baseUrl: string): Promise<void> {
	await page.goto(`${baseUrl}/workflow/new`);
	await page.locator('[data-test-id="canvas-add-button"]').waitFor();
}

// ---------------------------------------------------------------------------------------------------
// The nodes panel ("node creator")

export const nodeCreator = (page: Page): Locator => page.locator('[data-test-id="node-creator"]');

/**
 * In 2.41.1 the search bar IS the input (data-test-id on the <input>). Typed again until it holds the
 * text: on a loaded machine the panel can still be rendering when the text goes in.
 */
export async function searchNodes(page: Page, text: string): Promise<void> {
	const input = page.locator('input[data-test-id="node-creator-search-bar"]:visible');
	await waitForValue(
		async () => {
			if ((await input.inputValue()) !== text) await input.fill(text);
			return await input.inputValue();
		},
		(value) => value === text,
		{ what: `the node search to hold "${text}"` },
	);
}

/**
 * Clicks an entry of the node creator's list as a person does. On a loaded machine (the queue-mode suite
 * beside this one) the list has been seen re-rendering for 45 s, each click aimed at an element that was
 * replaced before it landed ("element was detached from the DOM"); after 20 s of that the click is made
 * at the entry without waiting for it to hold still (a real mouse click, not a synthetic event: a
 * dispatched "click" was once ignored by the list under load).
 */
export async function clickListEntry(entry: Locator): Promise<void> {
	// First the entry must be listed at all: a search on a loaded machine has taken over 40 s to list it.
	await entry.first().waitFor({ state: 'visible', timeout: 90_000 });
	try {
		await entry.click({ timeout: 20_000 });
	} catch (error) {
		// Gone from the list: the click landed (the panel moved on) and only its report was late, as seen
		// on a loaded machine. The caller's next step checks what the click did.
		if ((await entry.count()) === 0) return;
		await entry.click({ force: true, timeout: 20_000 }).catch(() => {
			throw error;
		});
	}
}

/** An entry of the panel's list whose node type starts with `typePrefix` (e.g. "pkg.geminiOmni"). */
export const panelItemOfType = (page: Page, typePrefix: string): Locator =>
	page.locator(`[data-test-id="node-creator"] [data-test-id="item-iterator-item"][data-keyboard-nav-id^="${typePrefix}"]:visible`);

export interface PanelEntry {
	/** data-keyboard-nav-id: "<node type>-<uuid>" for nodes and actions, the title for group headings. */
	navId: string;
	navType: string;
	text: string;
}

/** Every visible entry of the panel's list, in order. */
export async function panelEntries(page: Page): Promise<PanelEntry[]> {
	return await page
		.locator('[data-test-id="node-creator"] [data-test-id="item-iterator-item"]:visible')
		.evaluateAll((elements: DomElement[]) =>
			elements.map((element) => ({
				navId: element.getAttribute('data-keyboard-nav-id') ?? '',
				navType: element.getAttribute('data-keyboard-nav-type') ?? '',
				text: element.innerText.replace(/\s+/g, ' ').trim(),
			})),
		);
}

// ---------------------------------------------------------------------------------------------------
// The parameters panel (NDV)

export const ndv = (page: Page): Locator => page.locator('[data-test-id="ndv"]');

export async function closeNdv(page: Page): Promise<void> {
	if (!(await ndv(page).isVisible())) return;
	await page.locator('[data-test-id="ndv-close-button"]:visible, [data-test-id="back-to-canvas"]:visible').first().click();
	await ndv(page).waitFor({ state: 'hidden' });
}

/** Chooses `optionName` in the NDV's options parameter `parameterName`, and waits until it shows. */
export async function chooseOption(page: Page, parameterName: string, optionName: string): Promise<void> {
	const input = ndv(page).locator(`[data-test-id="parameter-input-${parameterName}"] input`);
	if ((await input.inputValue()) === optionName) return;
	await ndv(page).locator(`[data-test-id="parameter-input-${parameterName}"]`).click();
	await page
		.locator('[data-test-id="parameter-input-item"]:visible .option-headline')
		.getByText(optionName, { exact: true })
		.click();
	await waitForValue(() => input.inputValue(), (value) => value === optionName, {
		what: `${parameterName} to show "${optionName}"`,
	});
}

export interface VisiblePanel {
	labels: string[];
	names: string[];
	notices: string[];
}

/**
 * The top-level fields the Parameters tab shows right now: each visible label that belongs to a
 * parameter (label[for=<name>]) and is not nested inside another parameter (collection entries), plus
 * the visible notices. The Settings tab's fields are in the DOM too, but hidden.
 */
export async function visiblePanel(page: Page): Promise<VisiblePanel> {
	return await ndv(page)
		.locator('[data-test-id="node-parameters"]')
		.evaluate((root: DomElement) => {
			const visible = (element: DomElement) => {
				const box = element.getBoundingClientRect();
				return element.checkVisibility({ visibilityProperty: true, opacityProperty: false }) && box.width > 0 && box.height > 0;
			};
			const depth = (element: DomElement) => {
				let count = 0;
				for (let at: DomElement | null = element; at && at !== root; at = at.parentElement) {
					if (at.getAttribute('data-test-id') === 'parameter-item') count++;
				}
				return count;
			};
			const labels = [...root.querySelectorAll('label[for]')].filter((label) => visible(label) && depth(label) === 1);
			const notices = [...root.querySelectorAll('.notice')].filter((notice) => visible(notice) && depth(notice) === 1);
			return {
				// The first line is the label's title; a required field adds " *".
				labels: labels.map((label) =>
					(label.innerText.split('\n')[0] ?? '').replace(/\s*\*\s*$/, '').trim(),
				),
				names: labels.map((label) => label.getAttribute('for') ?? ''),
				notices: notices.map((notice) => (notice.textContent ?? '').replace(/\s+/g, ' ').trim()),
			};
		});
}

// ---------------------------------------------------------------------------------------------------
// The credential dialog

export const credentialDialog = (page: Page): Locator => page.locator('[data-test-id="credential-edit-dialog"]');

/** Opens "create new credential" from the node's credential field (the empty-state button, else the select). */
export async function openNewCredentialFromNode(page: Page): Promise<void> {
	const connect = ndv(page).locator('[data-test-id="node-credentials-empty-state"] button');
	if (await connect.isVisible()) {
		await connect.click();
	} else {
		await ndv(page).locator('[data-test-id="node-credentials-select"]').click();
		await page.locator('[data-test-id="node-credentials-select-item-new"]:visible').click();
	}
	await credentialDialog(page).waitFor();
}

export async function closeCredentialDialog(page: Page): Promise<void> {
	if (!(await credentialDialog(page).isVisible())) return;
	await page.getByRole('button', { name: 'Close this dialog' }).and(page.locator(':visible')).first().click();
	await credentialDialog(page).waitFor({ state: 'hidden' });
}

/** Renames the credential being edited (the dialog's title is an inline editor). */
export async function renameCredential(page: Page, name: string): Promise<void> {
	await page.locator('[data-test-id="credential-name"] [data-test-id="inline-edit-preview"]').click();
	await page.locator('[data-test-id="credential-name"] [data-test-id="inline-edit-input"]').fill(name);
	await page.keyboard.press('Enter');
	await page.locator('[data-test-id="credential-name"] [data-test-id="inline-edit-preview"]', { hasText: name }).waitFor();
}

/** The red banner of a failed connection test, with its details expanded ("More details"). */
export async function credentialTestFailure(page: Page, timeoutMs = 15_000): Promise<string> {
	const banner = page.locator('[data-test-id="node-credentials-config-container"] .el-tag--danger:visible');
	// The test's answer has already arrived when this is called: the banner follows within moments.
	await banner.first().waitFor({ timeout: timeoutMs });
	const more = banner.getByText('More details');
	if (await more.isVisible()) await more.click();
	return (await banner.first().innerText()).replace(/\s+/g, ' ').trim();
}
