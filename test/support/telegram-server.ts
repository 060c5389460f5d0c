/**
 * A stand-in for the Telegram Bot API on 127.0.0.1 (port 0, chosen by the OS), for tests. It answers
 * `POST /bot<token>/sendMessage` as Telegram does: 401 for a wrong token, 400 "chat not found",
 * 400 "can't parse entities" for HTML Telegram would refuse, 400 "message is too long" over 4,096
 * characters; and it can be scripted to answer 429 with `retry_after`, 500, or to drop the connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly method: string;
  /** The path with the token replaced by `<token>` (tests compare it without handling the secret). */
  readonly path: string;
  /** True when the path carried the expected token. */
  readonly tokenMatched: boolean;
  readonly body: Record<string, unknown>;
}

/**
 * A scripted answer, used before the default behaviour: a status and a body (JSON, or a string sent
 * as HTML), a dropped connection, or no answer at all until the client gives up.
 */
export type ScriptedAnswer = { readonly status: number; readonly body: unknown } | 'drop' | 'hang';

/** Telegram-like answers for tests. */
export const ANSWERS = {
  tooManyRequests: (retryAfter: number): ScriptedAnswer => ({
    status: 429,
    body: {
      ok: false,
      error_code: 429,
      description: `Too Many Requests: retry after ${retryAfter}`,
      parameters: { retry_after: retryAfter },
    },
  }),
  serverError: (): ScriptedAnswer => ({
    status: 500,
    body: { ok: false, error_code: 500, description: 'Internal Server Error' },
  }),
  badGateway: (): ScriptedAnswer => ({ status: 502, body: '<html>502 Bad Gateway</html>' }),
  cantParse: (): ScriptedAnswer => ({
    status: 400,
    body: {
      ok: false,
      error_code: 400,
      description: 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3',
    },
  }),
};

const ALLOWED_TAGS = new Set(['b', 'i', 'code', 'pre']);
const ENTITY = /^&(amp|lt|gt|quot);/;

/**
 * Checks Telegram HTML strictly (stricter than Telegram, as our renderer must be): only `<b>`, `<i>`,
 * `<code>`, `<pre>` without attributes, never nested, always closed; `<`, `>` and `&` only as
 * entities or tags. Returns what is wrong, or undefined when the text is well-formed.
 */
export function checkTelegramHtml(html: string): string | undefined {
  let open: string | undefined;
  for (let index = 0; index < html.length;) {
    const char = html[index];
    if (char === '<') {
      const tag = /^<(\/?)([a-z]+)>/.exec(html.slice(index, index + 8));
      if (!tag?.[2] || !ALLOWED_TAGS.has(tag[2])) return `raw "<" or unsupported tag at ${index}`;
      const [whole, closing, name] = tag;
      if (closing) {
        if (open !== name) return `</${name}> closes ${open ? `<${open}>` : 'nothing'} at ${index}`;
        open = undefined;
      } else {
        if (open) return `<${name}> nested in <${open}> at ${index}`;
        open = name;
      }
      index += whole.length;
      continue;
    }
    if (char === '&') {
      const entity = ENTITY.exec(html.slice(index, index + 6));
      if (!entity) return `raw "&" at ${index}`;
      index += entity[0].length;
      continue;
    }
    if (char === '>') return `raw ">" at ${index}`;
    index += 1;
  }
  return open ? `<${open}> never closed` : undefined;
}

/** What Telegram shows: tags removed, entities decoded. */
export function visibleText(html: string): string {
  return html
    .replace(/<\/?(b|i|code|pre)>/g, '')
    .replace(/&(lt|gt|quot|amp);/g, (_, name: string) => ({ lt: '<', gt: '>', quot: '"', amp: '&' })[name] ?? '');
}

export class TelegramServer {
  readonly requests: RecordedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  /** HTTP status answered to each request (0: connection dropped), in the order of `requests`. */
  private readonly outcomes: number[] = [];
  private nextMessageId = 1;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly token: string,
    private readonly chats: Set<string>,
  ) {}

  /** Starts a server on 127.0.0.1 that knows `token` and the given chats. */
  static async start(options: { token: string; chats: readonly string[] }): Promise<TelegramServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const instance = new TelegramServer(server, `http://127.0.0.1:${port}`, options.token, new Set(options.chats));
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void instance.handle(request, response);
    });
    return instance;
  }

  /** Queues answers for the next requests, in order; afterwards the server behaves like Telegram. */
  answerNext(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  /** Makes a chat known (the bot was added to it), so that messages to it are delivered from now on. */
  addChat(chatId: string): void {
    this.chats.add(chatId);
  }

  /** Makes a chat unknown again ("chat not found"). */
  removeChat(chatId: string): void {
    this.chats.delete(chatId);
  }

  /** Forgets the requests seen and any answers still queued. */
  reset(): void {
    this.requests.length = 0;
    this.outcomes.length = 0;
    this.script.length = 0;
  }

  /** Messages delivered (answered 200), in order. */
  delivered(): { chatId: string; text: string; parseMode: string | undefined }[] {
    return this.requests.flatMap((request, index) =>
      this.outcomes[index] === 200
        ? [
            {
              chatId: String(request.body.chat_id),
              text: String(request.body.text),
              parseMode: typeof request.body.parse_mode === 'string' ? request.body.parse_mode : undefined,
            },
          ]
        : [],
    );
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      body = {};
    }
    const path = request.url ?? '';
    const tokenMatched = path === `/bot${this.token}/sendMessage`;
    this.requests.push({
      method: request.method ?? '',
      path: path.split(this.token).join('<token>'),
      tokenMatched,
      body,
    });

    const scripted = this.script.shift();
    if (scripted === 'drop') {
      this.outcomes.push(0);
      response.socket?.destroy();
      return;
    }
    if (scripted === 'hang') {
      // The client times out and closes the connection; stop() closes whatever is left.
      this.outcomes.push(0);
      return;
    }
    const [status, answer] = scripted ? [scripted.status, scripted.body] : this.answer(request, tokenMatched, body);
    this.outcomes.push(status);
    const payload = typeof answer === 'string' ? answer : JSON.stringify(answer);
    response.writeHead(status, {
      'content-type': typeof answer === 'string' ? 'text/html' : 'application/json',
    });
    response.end(payload);
  }

  private answer(request: IncomingMessage, tokenMatched: boolean, body: Record<string, unknown>): [number, unknown] {
    const refuse = (status: number, description: string): [number, unknown] => [
      status,
      { ok: false, error_code: status, description },
    ];
    if (request.method !== 'POST') return refuse(405, 'Method Not Allowed');
    if (!tokenMatched) return refuse(401, 'Unauthorized');
    const chatId = String(body.chat_id);
    if (!this.chats.has(chatId)) return refuse(400, 'Bad Request: chat not found');
    const text = typeof body.text === 'string' ? body.text : '';
    if (body.parse_mode === 'HTML') {
      const problem = checkTelegramHtml(text);
      if (problem) return refuse(400, `Bad Request: can't parse entities: ${problem}`);
    }
    const visible = body.parse_mode === 'HTML' ? visibleText(text) : text;
    if (visible.trim() === '') return refuse(400, 'Bad Request: message text is empty');
    if (visible.length > 4096) return refuse(400, 'Bad Request: message is too long');
    return [
      200,
      { ok: true, result: { message_id: this.nextMessageId++, chat: { id: chatId }, date: 0, text: visible } },
    ];
  }
}
