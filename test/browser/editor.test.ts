/**
 * The package as a person meets it in the real n8n editor (n8n 2.41.1, our package installed as a
 * community package), in headless Chromium: finding the nodes in the nodes panel, the parameters
 * panel of every operation, the credential dialog's connection test, running a step, and the node as
 * an AI Agent's tool. Every check reads what the screen shows; expectations come from the node's
 * built description at test time (support/expected.ts), never from copied lists.
 *
 * Screenshots of each moment go to .tmp/screenshots/browser/ (git-ignored). The parameters panel of
 * Text to Video is also copied to docs/images/parameters-panel.png when that file is missing, or on
 * every run with UPDATE_DOCS_SCREENSHOTS=1 (a tracked file should not change on every `npm test`).
 *
 * Needs Debian's Chromium (scripts/apt-install.sh, called by the toolchain) and n8n in .cache (scripts/install-n8n.sh).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { INodeTypeDescription } from 'n8n-workflow';

import { API_KEY_FORMAT_MESSAGE, CREDENTIAL_TEST_MESSAGES } from '../../nodes/GeminiOmni/transport/apiKey';
import { startN8n, REPO_ROOT, type N8nInstance } from '../../scripts/lib/n8n-instance';
import { startSimulator, type Simulator } from '../../simulator';
import {
	chooseOption,
	clickListEntry,
	closeCredentialDialog,
	closeNdv,
	credentialDialog,
	credentialTestFailure,
	launchEditorBrowser,
	ndv,
	nodeCreator,
	openNewCredentialFromNode,
	openNewWorkflow,
	panelEntries,
	panelItemOfType,
	renameCredential,
	screenshot,
	searchNodes,
	signIn,
	tidyForScreenshot,
	visiblePanel,
	waitForValue,
	type EditorBrowser,
	type VisiblePanel,
} from './support/editor';
import {
	PACKAGE_NAME,
	actionsByResource,
	expectedPanel,
	nodeDescription,
	resourcesAndOperations,
	triggerDescription,
	triggerEvents,
	type ExpectedPanel,
} from './support/expected';
import { startNotTheApi, type NotTheApi } from './support/not-the-api';

jest.setTimeout(240_000);
/**
 * How long the node panel may take to list what a search or a click asks for. Seconds when the machine is
 * idle; beside the other n8n suites on 2 cores (npm test), a search once listed nothing for 40 s.
 */
const LIST_TIMEOUT = 90_000;

const PRO_CREDENTIAL_NAME = 'Gemini Omni (simulator, Pro)';
const DOCS_IMAGE = join(REPO_ROOT, 'docs', 'images', 'parameters-panel.png');

let sim: Simulator;
let n8n: N8nInstance;
let notTheApi: NotTheApi;
let browser: EditorBrowser;
let node: INodeTypeDescription;
let trigger: INodeTypeDescription;

const page = () => browser.page;
const nodeType = () => `${PACKAGE_NAME}.${node.name}`;

beforeAll(async () => {
	node = nodeDescription();
	trigger = triggerDescription();
	// A small time scale: a Text to Video job takes well under a second of simulated time.
	sim = await startSimulator({ timeScale: 0.02 });
	notTheApi = await startNotTheApi();
	// n8n 2.41.1 offers community nodes with usableAsTool as tools without any setting
	// (N8N_COMMUNITY_PACKAGES_ALLOW_TOOL_USAGE is not read by this version).
	n8n = await startN8n({});
	browser = await launchEditorBrowser();
}, 300_000);

afterAll(async () => {
	await browser?.close();
	await n8n?.stop();
	await notTheApi?.close();
	await sim?.close();
});

// -------------------------------------------------------------------------------------------------
// Helpers that act as a person would

async function addManualTrigger(): Promise<void> {
	const p = page();
	// Twice at most, from a new workflow, as a person would try again: in a warm run of the whole suite the
	// click on "Trigger manually" left the list and no node reached the canvas within 45 s (n8n's editor on a
	// loaded machine; the node under test is added after this, and every check about it stays single-shot).
	for (let attempt = 1; ; attempt++) {
		await openNewWorkflow(p, n8n.baseUrl);
		await p.locator('[data-test-id="canvas-add-button"]').click();
		await searchNodes(p, 'manual');
		await clickListEntry(p.locator('[data-test-id="node-creator-node-item"]', { hasText: 'Trigger manually' }));
		try {
			await p.locator('[data-test-id="canvas-node"]').first().waitFor({ timeout: 45_000 });
			break;
		} catch (error) {
			if (attempt >= 2) throw error;
		}
	}
	await nodeCreator(p).waitFor({ state: 'hidden' });
}

/** After a Manual Trigger, the canvas "+" opens "What happens next?". */
async function openWhatHappensNext(): Promise<void> {
	const p = page();
	await p.locator('[data-test-id="canvas-handle-plus"]:visible').first().click();
	await p.locator('[data-test-id="nodes-list-header"]:visible', { hasText: 'What happens next?' }).waitFor();
}

function actionText(resource: string, operation: string): string {
	const pair = resourcesAndOperations(node).find((each) => each.resource.value === resource && each.operation.value === operation);
	if (!pair) throw new Error(`The node has no ${resource} → ${operation}`);
	return pair.operation.action ?? pair.operation.name;
}

/** A new workflow: Manual Trigger → Gemini Omni, added through "What happens next?"; its NDV is open. */
async function addGeminiNode(): Promise<void> {
	const p = page();
	await addManualTrigger();
	await openWhatHappensNext();
	await searchNodes(p, 'gemini omni');
	await clickListEntry(panelItemOfType(p, `${nodeType()}-`).first());
	await clickListEntry(
		p.locator('[data-test-id="node-creator"] [data-test-id="item-iterator-item"]:visible', {
			hasText: actionText('video', 'textToVideo'),
		}),
	);
	await ndv(p).waitFor();
	await ndv(p).locator('[data-test-id="parameter-input-resource"]').waitFor();
}

/** The Gemini Omni node's parameters panel, open; a fresh workflow only when it is not already. */
async function ensureGeminiNdv(): Promise<void> {
	const p = page();
	if (await credentialDialog(p).isVisible()) await closeCredentialDialog(p);
	const open = (await ndv(p).isVisible()) && (await ndv(p).locator('[data-test-id="parameter-input-resource"]').isVisible());
	if (!open) {
		await closeNdv(p).catch(() => undefined);
		await addGeminiNode();
	}
}

const optionName = (parameter: string, value: string, resource?: string): string => {
	const property = node.properties.find(
		(each) =>
			each.name === parameter &&
			(resource === undefined || (each.displayOptions?.show?.resource ?? []).includes(resource)),
	);
	const option = (property?.options ?? []).find((each) => 'value' in each && each.value === value);
	if (!option || !('name' in option)) throw new Error(`No option ${value} for ${parameter}`);
	return option.name as string;
};

// -------------------------------------------------------------------------------------------------

describe('the n8n editor with the Gemini Omni package, in a browser', () => {
	it('signs in with the owner account', async () => {
		await signIn(page(), n8n.baseUrl, n8n.owner);
		expect(new URL(page().url()).pathname).not.toMatch(/^\/signin/);
	});

	it('offers the Gemini Omni Trigger in the trigger view for "gemini" and "omni", with its events under it', async () => {
		const p = page();
		await openNewWorkflow(p, n8n.baseUrl);
		await p.locator('[data-test-id="canvas-add-button"]').click();
		await p.locator('[data-test-id="nodes-list-header"]:visible', { hasText: 'What triggers this workflow?' }).waitFor();
		for (const term of ['gemini', 'omni']) {
			await searchNodes(p, term);
			// The trigger and the action node share one entry, named after the app ("Gemini Omni"), which
			// in the trigger view carries the trigger's description.
			const item = panelItemOfType(p, `${PACKAGE_NAME}.`);
			await item
				.first()
				.waitFor({ timeout: LIST_TIMEOUT })
				.catch(async () => {
					await screenshot(p, `1-trigger-view-${term}-NOT-FOUND`);
					throw new Error(
						`Searching "${term}" in the trigger view shows no Gemini Omni entry; the list shows: ` +
							JSON.stringify((await panelEntries(p)).map((entry) => entry.text)),
					);
				});
			await expect(item.count()).resolves.toBe(1);
			await expect(item.locator('[data-test-id="node-creator-item-name"]').innerText()).resolves.toBe(node.displayName);
			await expect(item.locator('[data-test-id="node-creator-item-description"]').innerText()).resolves.toBe(
				trigger.description,
			);
			await screenshot(p, `1-trigger-view-search-${term}`);
		}
		await clickListEntry(panelItemOfType(p, `${PACKAGE_NAME}.`).first());
		const events = triggerEvents(trigger);
		const triggerItems = await waitForValue(
			async () => (await panelEntries(p)).filter((entry) => entry.navId.startsWith(`${PACKAGE_NAME}.${trigger.name}-`)),
			(entries) => entries.length >= events.length,
			{ what: 'the trigger’s events listed under the node', timeoutMs: LIST_TIMEOUT },
		).catch(() => panelEntries(p));
		await screenshot(p, '1-trigger-view-events');
		expect(triggerItems.map((entry) => entry.text.toLowerCase())).toEqual(
			events.map((event) => expect.stringContaining(event.toLowerCase())),
		);
		await expect(nodeCreator(p).innerText()).resolves.toContain(`Triggers (${events.length})`);
	});

	it('offers Gemini Omni in "What happens next?" for "gemini" and "omni", with every operation as an action under it', async () => {
		const p = page();
		await addManualTrigger();
		await openWhatHappensNext();
		for (const term of ['gemini', 'omni']) {
			await searchNodes(p, term);
			const item = panelItemOfType(p, `${nodeType()}-`);
			await item
				.first()
				.waitFor({ timeout: LIST_TIMEOUT })
				.catch(async () => {
					await screenshot(p, `2-what-happens-next-${term}-NOT-FOUND`);
					throw new Error(
						`Searching "${term}" in "What happens next?" shows no Gemini Omni entry; the list shows: ` +
							JSON.stringify((await panelEntries(p)).map((entry) => entry.text)),
					);
				});
			await expect(item.count()).resolves.toBe(1);
			await expect(item.locator('[data-test-id="node-creator-item-name"]').innerText()).resolves.toBe(node.displayName);
			await screenshot(p, `2-what-happens-next-search-${term}`);
		}
		await clickListEntry(panelItemOfType(p, `${nodeType()}-`).first());
		const expected = actionsByResource(node);
		const expectedCount = [...expected.values()].reduce((sum, list) => sum + list.length, 0);
		const want = JSON.stringify(
			Object.fromEntries(
				[...expected]
					.map(([resource, actions]) => [`${resource} actions`.toLowerCase(), [...actions].sort()] as const)
					.sort(([a], [b]) => a.localeCompare(b)),
			),
		);
		// Headings ("Video Actions") are entries too; each action belongs to the heading above it.
		const grouped = async () => {
			const shown: Record<string, string[]> = {};
			let heading = '';
			for (const entry of await panelEntries(p)) {
				if (entry.navId.startsWith(`${nodeType()}-`)) (shown[heading] ??= []).push(entry.text);
				else heading = entry.text.toLowerCase();
			}
			const titles = Object.entries(shown).sort(([a], [b]) => a.localeCompare(b));
			return JSON.stringify(Object.fromEntries(titles.map(([title, actions]) => [title, actions.sort()])));
		};
		// Right after the click the search list may still be on screen for a moment: wait for the node's view.
		const seen = await waitForValue(grouped, (value) => value === want, {
			what: 'the node’s actions, grouped by resource',
			timeoutMs: LIST_TIMEOUT,
		}).catch(() => grouped());
		await screenshot(p, '2-what-happens-next-actions');
		expect(JSON.parse(seen)).toEqual(JSON.parse(want));
		await expect(nodeCreator(p).innerText()).resolves.toContain(`Actions (${expectedCount})`);

		// Choosing an action adds the node set to it.
		await p
			.locator('[data-test-id="node-creator"] [data-test-id="item-iterator-item"]:visible', {
				hasText: actionText('video', 'textToVideo'),
			})
			.click();
		await ndv(p).waitFor();
		await expect(ndv(p).locator('[data-test-id="parameter-input-resource"] input').inputValue()).resolves.toBe(
			optionName('resource', 'video'),
		);
		await expect(ndv(p).locator('[data-test-id="parameter-input-operation"] input').inputValue()).resolves.toBe(
			optionName('operation', 'textToVideo', 'video'),
		);
	});

	it('shows, for every resource and operation, exactly that operation’s fields in the parameters panel', async () => {
		const p = page();
		await ensureGeminiNdv();
		const mismatches: Array<{ operation: string; shown: VisiblePanel; expected: ExpectedPanel }> = [];
		const same = (shown: VisiblePanel, expected: ExpectedPanel) =>
			JSON.stringify(shown.labels) === JSON.stringify(expected.labels) &&
			JSON.stringify(shown.names) === JSON.stringify(expected.names) &&
			shown.notices.length === expected.notices.length &&
			expected.notices.every((notice, index) => shown.notices[index].includes(notice));
		for (const { resource, operation } of resourcesAndOperations(node)) {
			await chooseOption(p, 'resource', resource.name);
			await chooseOption(p, 'operation', operation.name);
			const expected = expectedPanel(node, { resource: resource.value, operation: operation.value } as never);
			const shown = await waitForValue(() => visiblePanel(p), (panel) => same(panel, expected), {
				what: `the fields of ${resource.name} → ${operation.name}`,
				timeoutMs: 10_000,
			}).catch(() => visiblePanel(p));
			await screenshot(p, `3-fields-${String(resource.value)}-${String(operation.value)}`, ndv(p));
			if (!same(shown, expected)) mismatches.push({ operation: `${resource.name} → ${operation.name}`, shown, expected });
		}
		expect(mismatches).toEqual([]);
	});

	describe('the credential dialog, opened from the node', () => {
		afterEach(async () => {
			await closeCredentialDialog(page()).catch(() => undefined);
		});

		/** Creates a credential in the dialog and returns the answer of the connection test Save ran. */
		async function saveInDialog(apiKey: string, baseUrl: string, name?: string): Promise<string> {
			const p = page();
			await ensureGeminiNdv();
			await openNewCredentialFromNode(p);
			if (name) await renameCredential(p, name);
			const dialog = credentialDialog(p);
			await dialog.locator('[data-test-id="parameter-input-apiKey"] input').fill(apiKey);
			await dialog.locator('[data-test-id="parameter-input-baseUrl"] input').fill(baseUrl);
			const tested = p.waitForResponse(
				(response) => response.url().includes('/rest/credentials/test') && response.request().method() === 'POST',
				{ timeout: 60_000 },
			);
			await p.locator('[data-test-id="credential-save-button"]:visible').click();
			return await (await tested).text();
		}

		async function expectFailureShown(expectedText: string, shot: string, answer: string): Promise<void> {
			const p = page();
			const shown = await credentialTestFailure(p).catch(async (error) => {
				await screenshot(p, `${shot}-NO-FAILURE-SHOWN`);
				throw new Error(`The dialog shows no failed connection test (n8n's test answered ${answer}): ${String(error)}`);
			});
			await screenshot(p, shot);
			expect(shown).toContain(expectedText);
		}

		it('refuses a malformed key with the "64 hexadecimal" message, without sending any request', async () => {
			sim.clearLog();
			const answer = await saveInDialog('gomni_short', sim.url);
			await expectFailureShown(API_KEY_FORMAT_MESSAGE, '4-credential-malformed-key', answer);
			expect(API_KEY_FORMAT_MESSAGE).toContain('64 hexadecimal');
			expect(sim.log).toEqual([]);
		});

		it('explains an unknown key (401)', async () => {
			const answer = await saveInDialog(`gomni_${'0'.repeat(64)}`, sim.url);
			await expectFailureShown(CREDENTIAL_TEST_MESSAGES.invalidKey, '4-credential-unknown-key-401', answer);
		});

		it('explains a Starter key (403)', async () => {
			const answer = await saveInDialog(sim.keys.starter, sim.url);
			await expectFailureShown(CREDENTIAL_TEST_MESSAGES.starterPlan, '4-credential-starter-key-403', answer);
		});

		it('says a Base URL that answers an HTML 404 to everything is not the API', async () => {
			notTheApi.requests.length = 0;
			const answer = await saveInDialog(sim.keys.pro, notTheApi.url);
			await expectFailureShown(CREDENTIAL_TEST_MESSAGES.notTheApi, '4-credential-not-the-api', answer);
			expect(notTheApi.requests.length).toBeGreaterThan(0);
		});

		it('accepts the Pro key: the dialog closes on Save and, opened again, shows the successful test', async () => {
			const p = page();
			sim.clearLog();
			const answer = await saveInDialog(sim.keys.pro, sim.url, PRO_CREDENTIAL_NAME);
			await credentialDialog(p)
				.waitFor({ state: 'hidden', timeout: 20_000 })
				.catch(async () => {
					await screenshot(p, '4-credential-pro-key-STILL-OPEN');
					throw new Error(`The dialog stayed open after Save with the Pro key (n8n's test answered ${answer})`);
				});
			await expect(ndv(p).locator('[data-test-id="node-credentials-select"] input').inputValue()).resolves.toBe(
				PRO_CREDENTIAL_NAME,
			);
			await ndv(p).locator('[data-test-id="credential-edit-button"]').click();
			await credentialDialog(p).waitFor();
			const success = p.locator('[data-test-id="credentials-config-container-test-success"]');
			await success.waitFor();
			await screenshot(p, '4-credential-pro-key-success');
			await expect(
				p.locator('[data-test-id="node-credentials-config-container"] .el-tag--danger:visible').count(),
			).resolves.toBe(0);
			expect(sim.log.some((entry) => entry.kind === 'api' && entry.key === sim.keys.pro.slice(-6))).toBe(true);
		});
	});

	it('runs "Execute step" on Text to Video and shows the MP4 in the output’s Binary view', async () => {
		const p = page();
		await ensureGeminiNdv();
		await chooseOption(p, 'resource', optionName('resource', 'video'));
		await chooseOption(p, 'operation', optionName('operation', 'textToVideo', 'video'));
		const credential = ndv(p).locator('[data-test-id="node-credentials-select"] input');
		if ((await credential.inputValue()) !== PRO_CREDENTIAL_NAME) {
			await ndv(p).locator('[data-test-id="node-credentials-select"]').click();
			const option = p.locator('[data-test-id^="node-credentials-select-item-"]:visible', { hasText: PRO_CREDENTIAL_NAME });
			if ((await option.count()) === 0) {
				throw new Error(`No credential "${PRO_CREDENTIAL_NAME}": the Pro key step above did not create it`);
			}
			await option.first().click();
			await waitForValue(() => credential.inputValue(), (value) => value === PRO_CREDENTIAL_NAME, {
				what: 'the Pro credential to be selected',
			});
		}
		const prompt = 'A lighthouse on a rocky cliff at dawn, waves below';
		await ndv(p).locator('[data-test-id="parameter-input-prompt"] textarea').fill(prompt);
		await ndv(p).locator('[data-test-id="parameter-input-prompt"] textarea').blur();
		await tidyForScreenshot(p);
		const panelShot = await screenshot(p, '5-parameters-panel-text-to-video', ndv(p));
		if (!existsSync(DOCS_IMAGE) || process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
			mkdirSync(join(REPO_ROOT, 'docs', 'images'), { recursive: true });
			copyFileSync(panelShot, DOCS_IMAGE);
		}

		sim.clearLog();
		await ndv(p).locator('[data-test-id="node-execute-button"]').click();
		const output = p.locator('[data-test-id="output-panel"]');
		await output.getByText('video/mp4').first().waitFor({ timeout: 120_000 }).catch(async () => {
			await screenshot(p, '5-execute-step-NO-MP4');
			throw new Error(`The output panel shows no video/mp4 after Execute step: ${(await output.innerText()).slice(0, 1500)}`);
		});
		// The Binary view (n8n opens it by itself when the item has a file; choosing it is harmless).
		await output.getByText('Binary', { exact: true }).first().click();
		await screenshot(p, '5-execute-step-binary-output');
		const text = (await output.innerText()).replace(/\s+/g, ' ');
		expect(text).toMatch(/File Name: \S+\.mp4/);
		expect(text).toMatch(/Mime Type: video\/mp4/);
		const generate = sim.log.filter((entry) => entry.kind === 'api' && entry.method === 'POST' && entry.path === '/api/v1/generate');
		expect(generate).toHaveLength(1);
		expect((generate[0].body as { prompt?: string }).prompt).toBe(prompt);
	});

	it('"Execute step" again with the same prompt reuses the job just paid for: no new generate, and the output says reused', async () => {
		const p = page();
		await ensureGeminiNdv();
		sim.clearLog();
		await ndv(p).locator('[data-test-id="node-execute-button"]').click();
		const output = p.locator('[data-test-id="output-panel"]');
		// JSON chosen again at each look: when the run ends, n8n switches the panel to the Binary view by itself
		// (on a loaded machine the run ended after a first click on JSON).
		const outputAsJson = async () => {
			await output.getByText('JSON', { exact: true }).first().click();
			return (await output.innerText()).replace(/\s+/g, ' ');
		};
		await waitForValue(outputAsJson, (text) => /reused\W+true/.test(text), {
			what: 'the re-run’s output to show reused: true',
			timeoutMs: 120_000,
		});
		await screenshot(p, '5-execute-step-again-reused');
		expect(sim.log.filter((entry) => entry.kind === 'api' && entry.method === 'POST' && entry.path === '/api/v1/generate')).toHaveLength(0);
	});

	it('gives the node two outputs on the canvas, "Done" and "Still Running", when Wait Mode is "Loop Through a Wait Node"', async () => {
		const p = page();
		await ensureGeminiNdv();
		await chooseOption(p, 'resource', optionName('resource', 'video'));
		await chooseOption(p, 'operation', optionName('operation', 'textToVideo', 'video'));
		const outputHandles = p.locator('[data-test-id="canvas-node-output-handle"][data-handleid^="outputs/main/"]');
		await chooseOption(p, 'waitMode', optionName('waitMode', 'poll'));
		await closeNdv(p);
		// One Manual Trigger and one Gemini Omni: one main output each while polling.
		expect(await outputHandles.count()).toBe(2);

		await p.locator(`[data-test-id="canvas-node"]:not([data-node-type="n8n-nodes-base.manualTrigger"])`).first().dblclick();
		await ndv(p).waitFor();
		await chooseOption(p, 'waitMode', optionName('waitMode', 'loop'));
		const notices = (await visiblePanel(p)).notices;
		expect(notices.some((notice) => notice.includes('Connect "Still Running" to a Wait node'))).toBe(true);
		await closeNdv(p);
		await waitForValue(() => outputHandles.count(), (count) => count === 3, { what: 'a second output on the Gemini Omni node' });
		const labels = await p.locator('[data-test-id="canvas-node-output-handle"][data-handleid="outputs/main/1"]').last().innerText();
		const first = await p.locator('[data-test-id="canvas-node-output-handle"][data-handleid="outputs/main/0"]').last().innerText();
		await screenshot(p, '6-loop-outputs-on-canvas');
		expect(first).toContain('Done');
		expect(labels).toContain('Still Running');

		// Back to Poll: one output again.
		await p.locator(`[data-test-id="canvas-node"]:not([data-node-type="n8n-nodes-base.manualTrigger"])`).first().dblclick();
		await ndv(p).waitFor();
		await chooseOption(p, 'waitMode', optionName('waitMode', 'poll'));
		await closeNdv(p);
		await waitForValue(() => outputHandles.count(), (count) => count === 2, { what: 'the Gemini Omni node back to one output' });
	});

	it('offers Check Interval Near Estimate under Options → Add Option, with its default and its hint', async () => {
		const p = page();
		await ensureGeminiNdv();
		await chooseOption(p, 'resource', optionName('resource', 'video'));
		await chooseOption(p, 'operation', optionName('operation', 'textToVideo', 'video'));
		await chooseOption(p, 'waitMode', optionName('waitMode', 'poll'));
		// The collection's "Add Option" is a select (its placeholder) or a button, depending on the n8n version.
		await ndv(p).locator('[placeholder="Add Option"]:visible, button:visible:has-text("Add Option")').first().click();
		await p.locator('[role="option"]:visible, .el-select-dropdown__item:visible, [data-test-id*="item"]:visible').getByText('Check Interval Near Estimate (Seconds)', { exact: true }).first().click();
		const field = ndv(p).locator('[data-test-id="parameter-input-checkIntervalSeconds"] input');
		await field.waitFor();
		expect(Number(await field.inputValue())).toBe(8); // shown as 8.0 (one decimal)
		await waitForValue(
			async () => await ndv(p).innerText(),
			(text) => text.includes('2.5 is seen done within about 1.4 s on average'),
			{ what: 'the option’s hint' },
		);
		await screenshot(p, '7-check-interval-option');
		await closeNdv(p);
	});

	it('offers Reuse Paid Jobs on Retry (on) and Max Credits per Execution (0, no cap) under Options → Add Option, with their hints', async () => {
		const p = page();
		await ensureGeminiNdv();
		await chooseOption(p, 'resource', optionName('resource', 'video'));
		await chooseOption(p, 'operation', optionName('operation', 'textToVideo', 'video'));
		const addOption = async (label: string) => {
			await ndv(p).locator('[placeholder="Add Option"]:visible, button:visible:has-text("Add Option")').first().click();
			await p.locator('[role="option"]:visible, .el-select-dropdown__item:visible, [data-test-id*="item"]:visible').getByText(label, { exact: true }).first().click();
		};
		await addOption('Reuse Paid Jobs on Retry');
		const reuse = ndv(p).locator('[data-test-id="parameter-input-reusePaidJobs"]');
		await reuse.waitFor();
		// n8n's switch is on: the option is on by default.
		await waitForValue(async () => await reuse.locator('.is-checked, [aria-checked="true"], input:checked').count(), (count) => count > 0, { what: 'Reuse Paid Jobs on Retry switched on' });
		await addOption('Max Credits per Execution');
		const cap = ndv(p).locator('[data-test-id="parameter-input-maxCreditsPerExecution"] input');
		await cap.waitFor();
		expect(Number(await cap.inputValue())).toBe(0);
		await waitForValue(
			async () => await ndv(p).innerText(),
			(text) => text.includes('0 means no cap') && text.includes('fresh variation of the same prompt'),
			{ what: 'both options’ hints' },
		);
		await screenshot(p, '8-paid-once-options');
		await closeNdv(p);
	});

	it('offers Gemini Omni among an AI Agent’s tools (the + under "Tool"), for "gemini" and "omni"', async () => {
		const p = page();
		await closeNdv(p).catch(() => undefined);
		await addManualTrigger();
		await openWhatHappensNext();
		await searchNodes(p, 'AI Agent');
		await clickListEntry(panelItemOfType(p, '@n8n/n8n-nodes-langchain.agent-').first());
		await ndv(p).waitFor();
		await closeNdv(p);
		const fit = p.locator('[data-test-id="zoom-to-fit"]:visible');
		if (await fit.count()) await fit.first().click();
		await p
			.locator('[data-test-id="canvas-node-input-handle"][data-handleid="inputs/ai_tool/0"] [data-test-id="canvas-handle-plus"]')
			.click();
		await p.locator('[data-test-id="nodes-list-header"]:visible', { hasText: 'Tools' }).waitFor();
		for (const term of ['gemini', 'omni']) {
			await searchNodes(p, term);
			const item = panelItemOfType(p, `${nodeType()}Tool-`);
			await item
				.first()
				.waitFor({ timeout: LIST_TIMEOUT })
				.catch(async () => {
					await screenshot(p, `6-agent-tools-${term}-NOT-FOUND`);
					throw new Error(
						`Searching "${term}" among the AI Agent's tools shows no Gemini Omni; the list shows: ` +
							JSON.stringify((await panelEntries(p)).map((entry) => entry.text)),
					);
				});
			await expect(item.locator('[data-test-id="node-creator-item-name"]').innerText()).resolves.toMatch(
				new RegExp(`^${node.displayName}( Tool)?$`),
			);
			await expect(item.locator('[data-test-id="node-creator-item-description"]').innerText()).resolves.toBe(
				node.description,
			);
			await screenshot(p, `6-agent-tools-search-${term}`);
		}
	});

	it('as an agent’s tool, Text to Video shows its model-facing Description and Return Output File, and no wait mode or download', async () => {
		const p = page();
		// The tools list from the test before is still open, searched for "omni".
		await clickListEntry(panelItemOfType(p, `${nodeType()}Tool-`).first());
		// n8n opens the tool's parameters at once (its defaults: Video → Text to Video), or lists its actions first.
		const action = p.locator('[data-test-id="node-creator"] [data-test-id="item-iterator-item"]:visible', { hasText: 'Generate a video from text' });
		await Promise.race([ndv(p).waitFor(), action.first().waitFor()]);
		if (!(await ndv(p).isVisible())) await action.first().click();
		await ndv(p).waitFor();
		await chooseOption(p, 'resource', 'Video');
		await chooseOption(p, 'operation', 'Text to Video');
		const panel = await waitForValue(() => visiblePanel(p), (shown) => shown.names.includes('toolDescription'), {
			what: 'the tool’s Description field',
		}).catch(() => visiblePanel(p));
		expect(panel.names).toEqual(expect.arrayContaining(['toolDescription', 'prompt', 'resolution', 'duration', 'waitForCompletion', 'agentOutputFile']));
		for (const hidden of ['descriptionType', 'waitMode', 'downloadOutput', 'binaryPropertyName', 'agentMaxFileSizeMb']) expect(panel.names).not.toContain(hidden);
		const description = await ndv(p).locator('[data-test-id="parameter-input-toolDescription"] textarea').inputValue();
		for (const words of ['text prompt', 'resolution', 'duration', 'jobId', 'outputUrl', 'budgetReached']) expect(description).toContain(words);
		await screenshot(p, '9-agent-tool-text-to-video');
		await closeNdv(p);
	});
});

