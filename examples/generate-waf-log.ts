/**
 * Generates `examples/waf-log-sample.jsonl.gz`: 30 minutes of AWS WAF log records (the JSON WAF
 * writes to CloudWatch Logs, S3 or Firehose) for a small shop behind CloudFront, with attacks
 * that `waf-autoblock replay` should find. Deterministic: the same seed gives the same records.
 *
 *   npx tsx examples/generate-waf-log.ts [output file] [--seed n]
 *
 * What is in it (times from the start, 2025-03-14T02:00:00Z):
 * - normal traffic, about 3 requests a second from 400 IPv4 and 120 IPv6 clients in 30 countries;
 * - 05:00-09:40: the office's uptime checker 81.2.69.142 polls /health 2,100 times: over the
 *   default limit, and refused once the office range 81.2.69.128/26 is allowlisted;
 * - 10:00-13:00: an HTTP flood from 91.240.118.17-.19 (2,160 requests each) and .20 (360);
 * - 20:00-24:00: a WordPress scanner on IPv6, 2a0b:7280:200:3::15, 2,160 requests, mostly /wp-login.php;
 * - 25:00-26:00 and 26:40-27:40: two login brute-forces through a corporate proxy (34.240.12.7),
 *   visible only in X-Forwarded-For: one from the private 10.20.30.40, one from 95.173.136.70.
 *
 * Addresses are picked at random from public space for the sample; they say nothing about their
 * real owners.
 */
import { createWriteStream, realpathSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';

/** mulberry32: small, fast, and the same sequence on every machine. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleOptions {
  /** @default 0x5eed */
  readonly seed?: number;
  /** Epoch milliseconds of the first second. @default 2025-03-14T02:00:00Z */
  readonly start?: number;
  /** Length of the log. @default 30 */
  readonly minutes?: number;
  /** Normal requests per second, on average. @default 3 */
  readonly normalPerSecond?: number;
}

interface Client {
  readonly ip: string;
  readonly country: string;
  readonly userAgent: string;
}

/** A stream of requests at `perSecond` from `from` to `to` seconds after the start. */
interface Source {
  readonly from: number;
  readonly to: number;
  readonly perSecond: number;
  readonly request: () => Request;
}

interface Request {
  readonly client: Client;
  readonly uri: string;
  readonly method?: string;
  readonly args?: string;
  readonly forwardedFor?: string;
}

const COUNTRIES = ['DE', 'FR', 'GB', 'NL', 'US', 'PL', 'IT', 'ES', 'SE', 'AT', 'CH', 'BE', 'CZ', 'DK', 'FI'];
const FIRST_OCTETS = [5, 31, 37, 46, 62, 77, 78, 80, 84, 87, 88, 93, 109, 151, 176, 178, 188, 212, 213, 217];
const V6_PREFIXES = ['2a00:1450', '2a01:4f8', '2a02:8108', '2a02:810d', '2003:e8', '2a01:cb00', '2a02:c7c'];
const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (X11; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Mobile Safari/537.36',
];
const PAGES = ['/', '/', '/', '/products', '/products/42', '/products/17', '/cart', '/checkout', '/about', '/login'];
const ASSETS = ['/static/app.js', '/static/app.css', '/static/logo.svg', '/favicon.ico', '/api/search'];
const SCANNED = ['/xmlrpc.php', '/.env', '/wp-admin/', '/.git/config', '/wp-content/plugins/', '/admin.php'];

/**
 * The sample's log lines (JSON, no newline), in time order. A generator, so that a million-line
 * log for the benchmark never has to fit in memory.
 */
export function* wafLogLines(options: SampleOptions = {}): Generator<string> {
  const random = prng(options.seed ?? 0x5eed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const start = options.start ?? Date.UTC(2025, 2, 14, 2, 0, 0);
  const seconds = (options.minutes ?? 30) * 60;
  const hex = (n: number) => int(n).toString(16);

  const clients: Client[] = [];
  for (let i = 0; i < 400; i++) {
    const ip = `${pick(FIRST_OCTETS)}.${int(256)}.${int(256)}.${1 + int(254)}`;
    clients.push({ ip, country: pick(COUNTRIES), userAgent: pick(BROWSERS) });
  }
  for (let i = 0; i < 120; i++) {
    const ip = `${pick(V6_PREFIXES)}:${hex(0x10000)}:${hex(0x10000)}::${hex(0x1000)}`;
    clients.push({ ip, country: pick(COUNTRIES), userAgent: pick(BROWSERS) });
  }
  const office = (host: number): Client => ({ ip: `81.2.69.${host}`, country: 'GB', userAgent: pick(BROWSERS) });
  const checker: Client = { ip: '81.2.69.142', country: 'GB', userAgent: 'UptimeChecker/2.1' };
  const floodBot = 'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)';
  const flood = (host: number): Client => ({ ip: `91.240.118.${host}`, country: 'RU', userAgent: floodBot });
  const scanner: Client = { ip: '2a0b:7280:200:3::15', country: 'NL', userAgent: 'WPScan v3.8.27' };
  const proxy: Client = { ip: '34.240.12.7', country: 'IE', userAgent: 'python-requests/2.32.3' };

  const sources: Source[] = [
    {
      from: 0,
      to: seconds,
      perSecond: options.normalPerSecond ?? 3,
      // A few clients are much busier than the rest, as on any real site.
      request: () => ({
        client: clients[Math.floor(clients.length * random() ** 2)] as Client,
        uri: random() < 0.6 ? pick(PAGES) : pick(ASSETS),
      }),
    },
    { from: 0, to: seconds, perSecond: 0.05, request: () => ({ client: office(130 + int(20)), uri: pick(PAGES) }) },
    { from: 300, to: 580, perSecond: 7.5, request: () => ({ client: checker, uri: '/health' }) },
    ...[17, 18, 19].map((host) => ({
      from: 600,
      to: 780,
      perSecond: 12,
      request: () => ({ client: flood(host), uri: '/', args: `v=${int(10)}` }),
    })),
    { from: 600, to: 780, perSecond: 2, request: () => ({ client: flood(20), uri: '/products' }) },
    {
      from: 1200,
      to: 1440,
      perSecond: 9,
      request: () => {
        const login = random() < 0.7;
        return { client: scanner, uri: login ? '/wp-login.php' : pick(SCANNED), method: login ? 'POST' : 'GET' };
      },
    },
    {
      from: 1500,
      to: 1560,
      perSecond: 3,
      request: () => ({ client: proxy, uri: '/login', method: 'POST', forwardedFor: '10.20.30.40, 34.240.12.7' }),
    },
    {
      from: 1600,
      to: 1660,
      perSecond: 3,
      request: () => ({ client: proxy, uri: '/login', method: 'POST', forwardedFor: '95.173.136.70, 34.240.12.7' }),
    },
  ];

  let sequence = 0;
  for (let second = 0; second < seconds; second++) {
    const batch: { at: number; request: Request }[] = [];
    for (const source of sources) {
      if (second < source.from || second >= source.to) continue;
      const whole = Math.floor(source.perSecond);
      const count = whole + (random() < source.perSecond - whole ? 1 : 0);
      for (let i = 0; i < count; i++) batch.push({ at: start + second * 1000 + int(1000), request: source.request() });
    }
    batch.sort((a, b) => a.at - b.at);
    for (const { at, request } of batch) yield JSON.stringify(record(at, request, ++sequence));
  }
}

/** One HTTP header as WAF logs it. */
export interface WafLogHeader {
  readonly name: string;
  readonly value: string;
}

/** What differs from one record of the sample to the next; tests build their records from it too. */
export interface WafLogRequest {
  /** Epoch milliseconds, as WAF writes them. */
  readonly timestamp: number;
  /** The connecting source IP (WAF's `httpRequest.clientIp`). */
  readonly clientIp: string;
  /** Two-letter country code. @default 'US' */
  readonly country?: string;
  /** Headers after `host: shop.example.com`, in order. @default [] */
  readonly headers?: readonly WafLogHeader[];
  /** @default '/' */
  readonly uri?: string;
  /** Query string without `?`. @default '' */
  readonly args?: string;
  /** @default 'GET' */
  readonly method?: string;
  /** @default `r-<n>`, unique per record built: replay drops a second record with an id it has read */
  readonly requestId?: string;
}

/** Numbers the records built without a request id, so that no two share one. */
let unnamedRequests = 0;

/**
 * One AWS WAF log record (https://docs.aws.amazon.com/waf/latest/developerguide/logging-fields.html)
 * of a request to `shop.example.com` through CloudFront that the web ACL's default action allowed,
 * with every field WAF writes, the ones replay ignores included.
 */
export function wafLogRecord(request: WafLogRequest) {
  return {
    timestamp: request.timestamp,
    formatVersion: 1,
    webaclId: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/WafAutoblock/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    terminatingRuleId: 'Default_Action',
    terminatingRuleType: 'REGULAR',
    action: 'ALLOW',
    terminatingRuleMatchDetails: [],
    httpSourceName: 'CF',
    httpSourceId: 'E2EXAMPLE0SAMPLE',
    ruleGroupList: [],
    rateBasedRuleList: [],
    nonTerminatingMatchingRules: [],
    requestHeadersInserted: null,
    responseCodeSent: null,
    httpRequest: {
      clientIp: request.clientIp,
      country: request.country ?? 'US',
      headers: [{ name: 'host', value: 'shop.example.com' }, ...(request.headers ?? [])],
      uri: request.uri ?? '/',
      args: request.args ?? '',
      httpVersion: 'HTTP/2.0',
      httpMethod: request.method ?? 'GET',
      requestId: request.requestId ?? `r-${(unnamedRequests++).toString(36)}`,
    },
  };
}

/** The record of one of the sample's requests; the `sequence`th of the log. */
function record(timestamp: number, request: Request, sequence: number) {
  const headers = [
    { name: 'user-agent', value: request.client.userAgent },
    { name: 'accept', value: '*/*' },
  ];
  if (request.forwardedFor !== undefined) headers.push({ name: 'x-forwarded-for', value: request.forwardedFor });
  return wafLogRecord({
    timestamp,
    clientIp: request.client.ip,
    country: request.client.country,
    headers,
    uri: request.uri,
    args: request.args,
    method: request.method,
    // Real ids are random; a sequence keeps the sample small and still unique.
    requestId: `sample-${sequence.toString(36).padStart(6, '0')}`,
  });
}

/** Writes `lines` to `path`, gzipped when the name ends in .gz, respecting back-pressure. */
export async function writeLines(path: string, lines: Iterable<string>): Promise<number> {
  const file = createWriteStream(path);
  const gzip = path.endsWith('.gz') ? createGzip({ level: 9 }) : undefined;
  const out = gzip ?? file;
  gzip?.pipe(file);
  let count = 0;
  for (const line of lines) {
    count++;
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(file, 'close');
  return count;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
}

if (isEntryPoint()) {
  const { values, positionals } = parseArgs({ options: { seed: { type: 'string' } }, allowPositionals: true });
  const output = positionals[0] ?? fileURLToPath(new URL('waf-log-sample.jsonl.gz', import.meta.url));
  const count = await writeLines(
    output,
    wafLogLines({ seed: values.seed === undefined ? undefined : Number(values.seed) }),
  );
  console.error(`wrote ${count} records to ${output}`);
}
