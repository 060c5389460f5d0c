/**
 * What a blocked client sees: by default WAF's plain `403 Forbidden` with an empty body; with
 * `blockResponse` (top level, for the blocklist rules and the rate rules) or
 * `rateRules[].blockResponse` (that rule only, instead of the top-level one), the status code, a
 * small body with its content type, and an optional `Retry-After` header that the configuration
 * names. The allowlist rules ALLOW and never use it; managed rule groups keep their own actions.
 *
 * WAF sends a custom response only for a Block action: the rule's `Block.CustomResponse` names the
 * status code and headers, and points by key at a body kept once in the web ACL's
 * `CustomResponseBodies`
 * (https://docs.aws.amazon.com/waf/latest/developerguide/customizing-the-response-for-blocked-requests.html).
 * Limits, checked at synth so that the deploy cannot fail on them:
 * - status codes: the list in "Supported status codes for custom responses"
 *   (https://docs.aws.amazon.com/waf/latest/developerguide/customizing-the-response-status-codes.html),
 *   of which only the 4xx and 5xx are offered here (see {@link BLOCK_STATUS_CODES});
 * - a body: 1 character to 4 KB of content for one custom response, 50 KB for all of a web ACL's
 *   bodies together (AWS WAF quotas, https://docs.aws.amazon.com/waf/latest/developerguide/limits.html;
 *   the API field alone takes 10,240 characters,
 *   https://docs.aws.amazon.com/waf/latest/APIReference/API_CustomResponseBody.html); counted
 *   here in UTF-8 bytes, as CloudFormation sends the text;
 * - content types: `TEXT_PLAIN`, `TEXT_HTML`, `APPLICATION_JSON` (same page), written here as the
 *   MIME types a client receives;
 * - headers: any name but `content-type` (WAF sets it from the content type),
 *   https://docs.aws.amazon.com/waf/latest/APIReference/API_CustomResponse.html.
 *
 * Pure: the shapes below are those of the web ACL's `BlockAction` and `CustomResponseBody`; the
 * construct (lib/blocklist-web-acl) only places them.
 */
import { z } from 'zod';
import type { ConfigProblem } from './config-error';

/**
 * The status codes WAF supports for a custom response that say "refused": its 4xx and 5xx. Its
 * 2xx and 3xx are left out on purpose: a 2xx tells the client (and any cache or monitor between)
 * that the request succeeded, and a 3xx needs a `Location` header that this setting does not write.
 */
export const BLOCK_STATUS_CODES = [
  400, 401, 403, 404, 405, 408, 409, 411, 412, 413, 414, 415, 416, 421, 429, 500, 501, 502, 503, 504, 505,
] as const;

/** Most bytes (UTF-8) of one custom response body: WAF's quota of 4 KB per custom response. */
export const MAX_BODY_BYTES = 4_096;
/**
 * Most bytes (UTF-8) of all the web ACL's response bodies together: WAF's quota of 50 KB per web
 * ACL, read as 50,000 so that either meaning of "KB" holds.
 */
export const MAX_BODIES_BYTES = 50_000;
/** Longest `Retry-After` that the configuration takes: one day, in seconds. */
export const MAX_RETRY_AFTER_SECONDS = 86_400;

/** The content types a body may have, as the client receives them, and WAF's name for each. */
export const BODY_CONTENT_TYPES = {
  'text/plain': 'TEXT_PLAIN',
  'text/html': 'TEXT_HTML',
  'application/json': 'APPLICATION_JSON',
} as const;
export type BodyContentType = keyof typeof BODY_CONTENT_TYPES;
const CONTENT_TYPE_NAMES = Object.keys(BODY_CONTENT_TYPES) as [BodyContentType, ...BodyContentType[]];

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** Whether `code` is a C0 control character other than TAB, LF and CR, or DEL: nothing a page or a JSON text holds. */
const isBodyControl = (code: number) =>
  (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f;

/** Why `body` holds a character no response body should, naming it as U+XXXX; or undefined. */
export function bodyControlProblem(body: string): string | undefined {
  let index = 0;
  while (index < body.length && !isBodyControl(body.charCodeAt(index))) index++;
  if (index === body.length) return undefined;
  const code = body.charCodeAt(index).toString(16).toUpperCase().padStart(4, '0');
  return `holds the control character U+${code} at character ${index + 1}: a body may hold TAB, LF and CR, but no other control character`;
}

const number = (value: number) => value.toLocaleString('en-US');

/** The custom response of a Block action, as the configuration takes it. */
export const blockResponseSchema = z
  .strictObject({
    /** HTTP status code of the response: one of {@link BLOCK_STATUS_CODES}, e.g. 429 or 403. */
    statusCode: z
      .number({ error: 'must be an HTTP status code such as 429 or 403' })
      .refine((code) => (BLOCK_STATUS_CODES as readonly number[]).includes(code), {
        message: `must be one of the 4xx and 5xx status codes WAF supports for a custom response: ${BLOCK_STATUS_CODES.join(', ')}`,
      }),
    /**
     * The response body, taken verbatim (not trimmed, any Unicode space allowed: lib/config/trimmed-values.ts);
     * unset: an empty body. At most {@link MAX_BODY_BYTES} bytes in UTF-8, and no control character
     * but TAB, LF and CR.
     */
    body: z
      .string()
      .min(1, 'must not be empty; leave body out for an empty body')
      .superRefine((body, ctx) => {
        const control = bodyControlProblem(body);
        if (control !== undefined) ctx.addIssue({ code: 'custom', message: control });
        const bytes = utf8Bytes(body);
        if (bytes > MAX_BODY_BYTES)
          ctx.addIssue({
            code: 'custom',
            message: `must be at most ${number(MAX_BODY_BYTES)} bytes in UTF-8, WAF's limit for one custom response body; it is ${number(bytes)} bytes`,
          });
      })
      .optional(),
    /** How the client is told to read the body; only with a `body`. @default 'text/plain' (with a body) */
    contentType: z.enum(CONTENT_TYPE_NAMES, { error: `must be one of ${CONTENT_TYPE_NAMES.join(', ')}` }).optional(),
    /**
     * Seconds after which the client may try again, sent as the `Retry-After` header (RFC 9110
     * §10.2.3); unset: no such header.
     */
    retryAfterSeconds: z
      .number()
      .int('must be a whole number of seconds')
      .min(1, `must be between 1 and ${number(MAX_RETRY_AFTER_SECONDS)} seconds`)
      .max(MAX_RETRY_AFTER_SECONDS, `must be between 1 and ${number(MAX_RETRY_AFTER_SECONDS)} seconds (one day)`)
      .optional(),
  })
  .superRefine((response, ctx) => {
    if (response.body === undefined && response.contentType !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['contentType'],
        message: 'describes a body, and there is none: set body, or leave contentType out',
      });
    if (response.body === undefined || response.contentType !== 'application/json') return;
    try {
      JSON.parse(response.body);
    } catch (cause) {
      ctx.addIssue({
        code: 'custom',
        path: ['body'],
        message: `must be JSON with contentType application/json (${(cause as Error).message}); or set contentType text/plain`,
      });
    }
  });
/** A validated custom response. */
export type BlockResponseConfig = z.output<typeof blockResponseSchema>;

/** What the custom responses hang on: the top-level setting and each rate rule's own. */
export interface BlockResponses {
  readonly blockResponse?: BlockResponseConfig | undefined;
  readonly rateRules: readonly { readonly name: string; readonly blockResponse?: BlockResponseConfig | undefined }[];
}

/** The key of the top-level response's body in the web ACL's `CustomResponseBodies`. */
export const BLOCK_RESPONSE_BODY_KEY = 'block-response';

/** The key of a rate rule's own body: `block-response-<rule name>` (rule names are `[A-Za-z0-9_-]`, as keys must be). */
export function rateRuleBodyKey(ruleName: string): string {
  return `${BLOCK_RESPONSE_BODY_KEY}-${ruleName}`;
}

/** A body in the web ACL's `CustomResponseBodies` shape. */
export interface CustomResponseBody {
  readonly content: string;
  readonly contentType: (typeof BODY_CONTENT_TYPES)[BodyContentType];
}

/** The `Block` action of a rule: plain (WAF's 403) without a response, else with its `CustomResponse`. */
export interface BlockAction {
  readonly customResponse?: {
    readonly responseCode: number;
    readonly customResponseBodyKey?: string;
    readonly responseHeaders?: { readonly name: string; readonly value: string }[];
  };
}

/**
 * The `Block` action for `response`, its body (if any) under `bodyKey`.
 * @returns `{}` (WAF's plain 403) when `response` is undefined.
 */
export function blockAction(response: BlockResponseConfig | undefined, bodyKey: string): BlockAction {
  if (response === undefined) return {};
  return {
    customResponse: {
      responseCode: response.statusCode,
      ...(response.body === undefined ? {} : { customResponseBodyKey: bodyKey }),
      ...(response.retryAfterSeconds === undefined
        ? {}
        : { responseHeaders: [{ name: 'Retry-After', value: String(response.retryAfterSeconds) }] }),
    },
  };
}

/** The `Block` action of `rateRules[index]`: its own response, else the top-level one, else WAF's plain 403. */
export function rateRuleBlockAction(config: BlockResponses, index: number): BlockAction {
  const rule = config.rateRules[index];
  if (rule?.blockResponse !== undefined) return blockAction(rule.blockResponse, rateRuleBodyKey(rule.name));
  return blockAction(config.blockResponse, BLOCK_RESPONSE_BODY_KEY);
}

/**
 * The web ACL's `CustomResponseBodies`: one per response that has a body, by key; empty when no
 * response has one (the web ACL then gets no `CustomResponseBodies` at all).
 */
export function customResponseBodies(config: BlockResponses): Record<string, CustomResponseBody> {
  const bodies: Record<string, CustomResponseBody> = {};
  const add = (response: BlockResponseConfig | undefined, key: string) => {
    if (response?.body === undefined) return;
    bodies[key] = { content: response.body, contentType: BODY_CONTENT_TYPES[response.contentType ?? 'text/plain'] };
  };
  add(config.blockResponse, BLOCK_RESPONSE_BODY_KEY);
  for (const rule of config.rateRules) add(rule.blockResponse, rateRuleBodyKey(rule.name));
  return bodies;
}

/**
 * The bodies over WAF's quota for all of a web ACL's bodies ({@link MAX_BODIES_BYTES}), as one
 * problem on `blockResponse`, or on the last rate rule's body when there is no top-level one.
 */
export function customResponseSizeProblems(config: BlockResponses): ConfigProblem[] {
  const bodies = Object.values(customResponseBodies(config));
  const total = bodies.reduce((sum, body) => sum + utf8Bytes(body.content), 0);
  if (total <= MAX_BODIES_BYTES) return [];
  const last = config.rateRules.findLastIndex((rule) => rule.blockResponse?.body !== undefined);
  const path = last === -1 ? ['blockResponse', 'body'] : ['rateRules', last, 'blockResponse', 'body'];
  return [
    {
      path,
      message: `makes the web ACL's ${bodies.length} response bodies ${number(total)} bytes in UTF-8 together, over WAF's limit of ${number(MAX_BODIES_BYTES)} for one web ACL: shorten the bodies, or let rate rules share the top-level blockResponse`,
    },
  ];
}
