/**
 * A stand-in for an OpenAI-compatible chat model, for n8n's "OpenAI Chat Model" node (its credential's
 * Base URL points here): no network, and the "model" follows a script the test gives it. It records
 * every request, so a test reads exactly what n8n showed the model: the tools offered and each tool
 * result (the `tool` messages).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatMessage {
	role: string;
	content: string | null | Array<{ type: string; text?: string }>;
	tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
	tool_call_id?: string;
}

export interface ChatRequest {
	model: string;
	messages: ChatMessage[];
	tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
	stream?: boolean;
}

/** What the script answers a request with: call a tool, or end with text. */
export type ScriptedTurn = { tool: string; args: Record<string, unknown> } | { text: string };

export interface ScriptedChatModel {
	/** The base URL for n8n's OpenAI credential (`…/v1`). */
	url: string;
	requests: ChatRequest[];
	close(): Promise<void>;
}

/** The text of each tool result the model was shown in a request, oldest first. */
export function toolResults(request: ChatRequest): string[] {
	return request.messages.filter((message) => message.role === 'tool').map((message) => contentText(message.content));
}

function contentText(content: ChatMessage['content']): string {
	if (typeof content === 'string') return content;
	return (content ?? []).map((part) => part.text ?? '').join('');
}

export async function startScriptedChatModel(script: (request: ChatRequest) => ScriptedTurn): Promise<ScriptedChatModel> {
	const requests: ChatRequest[] = [];
	let calls = 0;
	const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
				res.writeHead(404, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ error: { message: `not here: ${req.method} ${req.url}` } }));
				return;
			}
			const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
			requests.push(request);
			let turn: ScriptedTurn;
			try {
				turn = script(request);
			} catch (error) {
				res.writeHead(500, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ error: { message: `script failed: ${(error as Error).message}` } }));
				return;
			}
			const message =
				'tool' in turn
					? {
							role: 'assistant',
							content: null,
							tool_calls: [{ id: `call_${++calls}`, type: 'function', function: { name: turn.tool, arguments: JSON.stringify(turn.args) } }],
						}
					: { role: 'assistant', content: turn.text };
			const finishReason = 'tool' in turn ? 'tool_calls' : 'stop';
			if (request.stream) {
				res.writeHead(200, { 'content-type': 'text/event-stream' });
				const delta = 'tool' in turn ? { role: 'assistant', tool_calls: message.tool_calls?.map((call, index) => ({ index, ...call })) } : message;
				const chunk = (choice: unknown) => `data: ${JSON.stringify({ id: `chatcmpl-${requests.length}`, object: 'chat.completion.chunk', created: 0, model: request.model, choices: [choice] })}\n\n`;
				res.write(chunk({ index: 0, delta, finish_reason: null }));
				res.write(chunk({ index: 0, delta: {}, finish_reason: finishReason }));
				res.end('data: [DONE]\n\n');
				return;
			}
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(
				JSON.stringify({
					id: `chatcmpl-${requests.length}`,
					object: 'chat.completion',
					created: 0,
					model: request.model,
					choices: [{ index: 0, message, finish_reason: finishReason }],
					usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
				}),
			);
		});
	});
	await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}/v1`,
		requests,
		close: () => new Promise<void>((done) => server.close(() => done())),
	};
}
