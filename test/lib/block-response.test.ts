/**
 * What a blocked client sees (issue 12, part 3): WAF's plain 403 unless `blockResponse` (top
 * level, for the blocklist and rate rules) or `rateRules[].blockResponse` (one rule) says
 * otherwise. Template assertions on every rule that takes it, with cdk-nag (synthesize), and the
 * refusals at synth, each naming its key.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import type { WafAutoblockConfigInput } from '#config/schema';
import { configErrorOf } from '../support/config-errors';
import { synthesize } from '../support/synth';

type Rule = { Name: string; Priority: number; Action?: Record<string, unknown> };
type WebAclProperties = { Rules: Rule[]; CustomResponseBodies?: Record<string, unknown> };

function webAclOf(input: WafAutoblockConfigInput): WebAclProperties {
  const { template } = synthesize(input);
  const [acl] = Object.values(template.findResources('AWS::WAFv2::WebACL')) as { Properties: WebAclProperties }[];
  if (!acl) throw new Error('no web ACL');
  return acl.Properties;
}

const actionOf = (acl: WebAclProperties, name: string) => acl.Rules.find((rule) => rule.Name === name)?.Action;

const FORWARDED = { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' as const, trustedProxies: ['10.0.1.0/24'] };

describe('blockResponse in the template', () => {
  it('without it, every Block is WAF plain 403 and the web ACL has no CustomResponseBodies', () => {
    const acl = webAclOf({});
    expect(acl.CustomResponseBodies).toBeUndefined();
    for (const name of ['blocklist-ipv4', 'blocklist-ipv6', 'rate-all'])
      expect(actionOf(acl, name)).toEqual({ Block: {} });
  });

  it('a 429 with a JSON body and Retry-After goes to the blocklist rules, their header rules and the rate rules; the allowlist still allows', () => {
    const acl = webAclOf({
      scope: 'REGIONAL',
      forwardedIp: FORWARDED,
      allowlist: ['81.2.69.0/24'],
      rateRules: [
        { name: 'login', limit: 100, uriPathPrefix: '/login', aggregateKey: 'FORWARDED_IP' },
        { name: 'all', limit: 2000, aggregateKey: 'FORWARDED_IP' },
      ],
      blockResponse: {
        statusCode: 429,
        body: '{"error":"too many requests"}',
        contentType: 'application/json',
        retryAfterSeconds: 300,
      },
    });
    expect(acl.CustomResponseBodies).toEqual({
      'block-response': { Content: '{"error":"too many requests"}', ContentType: 'APPLICATION_JSON' },
    });
    const custom = {
      Block: {
        CustomResponse: {
          ResponseCode: 429,
          CustomResponseBodyKey: 'block-response',
          ResponseHeaders: [{ Name: 'Retry-After', Value: '300' }],
        },
      },
    };
    for (const name of [
      'blocklist-ipv4',
      'blocklist-ipv4-forwarded',
      'blocklist-ipv6',
      'blocklist-ipv6-forwarded',
      'login',
      'all',
    ])
      expect(actionOf(acl, name), name).toEqual(custom);
    for (const name of ['allowlist-ipv4', 'allowlist-ipv4-forwarded', 'allowlist-ipv6'])
      expect(actionOf(acl, name), name).toEqual({ Allow: {} });
  });

  it("a rate rule's own blockResponse wins for that rule only, with its own body key; others keep the top-level one", () => {
    const acl = webAclOf({
      rateRules: [
        {
          name: 'api',
          limit: 500,
          uriPathPrefix: '/api/',
          blockResponse: { statusCode: 429, body: '{"retry":true}', contentType: 'application/json' },
        },
        { name: 'rate-all', limit: 2000 },
      ],
      blockResponse: { statusCode: 403, body: '<h1>Blocked</h1>', contentType: 'text/html' },
    });
    expect(acl.CustomResponseBodies).toEqual({
      'block-response': { Content: '<h1>Blocked</h1>', ContentType: 'TEXT_HTML' },
      'block-response-api': { Content: '{"retry":true}', ContentType: 'APPLICATION_JSON' },
    });
    expect(actionOf(acl, 'api')).toEqual({
      Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'block-response-api' } },
    });
    const topLevel = { Block: { CustomResponse: { ResponseCode: 403, CustomResponseBodyKey: 'block-response' } } };
    expect(actionOf(acl, 'rate-all')).toEqual(topLevel);
    expect(actionOf(acl, 'blocklist-ipv4')).toEqual(topLevel);
  });

  it('a rate rule with its own response and no top-level one: that rule answers custom, the blocklist stays plain 403', () => {
    const acl = webAclOf({ rateRules: [{ name: 'rate-all', limit: 2000, blockResponse: { statusCode: 429 } }] });
    expect(acl.CustomResponseBodies).toBeUndefined();
    // No body: no key; no retryAfterSeconds: no header. The content type defaults to text/plain unused.
    expect(actionOf(acl, 'rate-all')).toEqual({ Block: { CustomResponse: { ResponseCode: 429 } } });
    expect(actionOf(acl, 'blocklist-ipv4')).toEqual({ Block: {} });
  });
});

describe('blockResponse refusals, each naming its key', () => {
  it('a status code WAF does not support for a custom response, or a 2xx/3xx', () => {
    for (const statusCode of [402, 418, 200, 302, 600])
      expect(configErrorOf({ blockResponse: { statusCode } }, 'blockResponse.statusCode')).toContain('429');
    expect(
      configErrorOf(
        { rateRules: [{ name: 'r', limit: 100, blockResponse: { statusCode: 451 } }] },
        'rateRules[0].blockResponse.statusCode',
      ),
    ).toContain('4xx and 5xx');
  });

  it('a body over 4,096 bytes in UTF-8, counted in bytes not characters', () => {
    // 2,049 two-byte characters: 2,049 characters, 4,098 bytes.
    const message = configErrorOf({ blockResponse: { statusCode: 429, body: 'é'.repeat(2049) } }, 'blockResponse.body');
    expect(message).toContain('4,096 bytes');
    expect(message).toContain('4,098 bytes');
    expect(
      parseConfig({ blockResponse: { statusCode: 429, body: 'é'.repeat(2048) } }).blockResponse?.body,
    ).toHaveLength(2048);
  });

  it('bodies over 50,000 bytes together, named at the last rate rule that adds one', () => {
    const body = 'x'.repeat(4000);
    const rateRules = Array.from({ length: 13 }, (_, index) => ({
      name: `r${index}`,
      limit: 100,
      blockResponse: { statusCode: 429, body },
    }));
    const message = configErrorOf({ rateRules }, 'rateRules[12].blockResponse.body');
    expect(message).toContain('52,000 bytes');
    expect(() => parseConfig({ rateRules: rateRules.slice(0, 12) })).not.toThrow();
  });

  it('a content type outside WAF three, and a JSON content type whose body is not JSON', () => {
    expect(
      configErrorOf({ blockResponse: { statusCode: 429, contentType: 'text/xml' } }, 'blockResponse.contentType'),
    ).toContain('text/plain, text/html, application/json');
    expect(
      configErrorOf(
        { blockResponse: { statusCode: 429, body: 'Too many requests', contentType: 'application/json' } },
        'blockResponse.body',
      ),
    ).toContain('must be JSON');
  });

  it('a Retry-After that is not whole seconds from 1 to a day', () => {
    for (const retryAfterSeconds of [0, 1.5, 86_401, -5])
      configErrorOf({ blockResponse: { statusCode: 429, retryAfterSeconds } }, 'blockResponse.retryAfterSeconds');
  });

  it('an empty body (leave it out instead), and null switches the top-level response off', () => {
    expect(configErrorOf({ blockResponse: { statusCode: 429, body: '' } }, 'blockResponse.body')).toContain(
      'leave body out',
    );
    expect(parseConfig({ blockResponse: null }).blockResponse).toBeUndefined();
  });

  it('a contentType without a body, naming the key', () => {
    expect(
      configErrorOf({ blockResponse: { statusCode: 429, contentType: 'text/html' } }, 'blockResponse.contentType'),
    ).toContain('there is none');
    configErrorOf(
      { rateRules: [{ name: 'r', limit: 100, blockResponse: { statusCode: 403, contentType: 'application/json' } }] },
      'rateRules[0].blockResponse.contentType',
    );
  });

  it.each([
    ['\u0000', '0000'],
    ['\u001B[31m', '001B'],
    ['\u007F', '007F'],
  ])('a body holding a control character (%j), named as U+XXXX', (control, code) => {
    expect(
      configErrorOf({ blockResponse: { statusCode: 429, body: `Slow down${control}` } }, 'blockResponse.body'),
    ).toContain(`U+${code}`);
  });
});

describe('blockResponse.body is content, taken verbatim', () => {
  it('keeps surrounding whitespace, a final CRLF, tabs and any Unicode space, in the template as written', () => {
    const body = '\u3000ただいま混雑しています。\u2009しばらくお待ちください。\u2028\tRetry soon.\r\n';
    const acl = webAclOf({
      blockResponse: { statusCode: 503, body },
      rateRules: [
        {
          name: 'api',
          limit: 100,
          blockResponse: { statusCode: 429, body: ' {"error":"slow down"}\r\n', contentType: 'application/json' },
        },
      ],
    });
    expect(acl.CustomResponseBodies).toEqual({
      'block-response': { Content: body, ContentType: 'TEXT_PLAIN' },
      'block-response-api': { Content: ' {"error":"slow down"}\r\n', ContentType: 'APPLICATION_JSON' },
    });
  });

  it('every other value keeps the whitespace rule: a rule name with U+3000 is still refused', () => {
    configErrorOf({ rateRules: [{ name: 'api\u3000', limit: 100 }] }, 'rateRules[0].name');
  });
});
