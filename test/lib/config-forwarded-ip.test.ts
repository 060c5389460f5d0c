/**
 * `forwardedIp` as a tester who tried to break it wrote it (issue 10, configuration findings 1, 2
 * and 20): a header on a CloudFront web ACL that only the client can have written, and header
 * names that never hold an address.
 */
import { describe, expect, it } from 'vitest';
import { NON_ADDRESS_HEADERS } from '#config/forwarded-ip';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';
import { webAclRulesOf } from '../support/web-acl';

const RATE_BY_HEADER = [{ name: 'rate-all', limit: 2000, aggregateKey: 'FORWARDED_IP' }] as const;

describe("forwardedIp with scope CLOUDFRONT: the header is the client's unless a proxy in front of CloudFront writes it", () => {
  it('is refused without proxyInFrontOfCloudFront, naming that key and why the allowlist could be forged', () => {
    const message = configErrorOf(
      { forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites' }, rateRules: RATE_BY_HEADER },
      'forwardedIp.proxyInFrontOfCloudFront',
    );
    expect(message).toContain('an allowlisted address in it would be allowed');
  });

  it('is refused with proxyInFrontOfCloudFront: false written out', () => {
    configErrorOf(
      {
        scope: 'CLOUDFRONT',
        forwardedIp: { headerName: 'True-Client-IP', setByOwnProxy: 'overwrites', proxyInFrontOfCloudFront: false },
        rateRules: RATE_BY_HEADER,
      },
      'forwardedIp.proxyInFrontOfCloudFront',
    );
  });

  it("with proxyInFrontOfCloudFront: true, the ALLOW rules read the source IP, then the header's one address on requests from the trusted proxies", () => {
    const config = parseConfig({
      forwardedIp: {
        headerName: 'X-Real-IP',
        setByOwnProxy: 'overwrites',
        proxyInFrontOfCloudFront: true,
        trustedProxies: ['173.245.48.0/20'],
      },
      rateRules: RATE_BY_HEADER,
    });
    const rules = webAclRulesOf(config);
    const allow = rules.filter((rule) => rule.action && 'allow' in rule.action);
    const fromProxy = (name: string) => [
      name,
      {
        andStatement: {
          statements: [
            { ipSetReferenceStatement: { arn: expect.anything() as unknown } },
            {
              ipSetReferenceStatement: {
                arn: expect.anything() as unknown,
                ipSetForwardedIpConfig: { headerName: 'X-Real-IP', position: 'FIRST', fallbackBehavior: 'NO_MATCH' },
              },
            },
          ],
        },
      },
    ];
    expect(allow.map((rule) => [rule.name, rule.statement])).toEqual([
      ['allowlist-ipv4', { ipSetReferenceStatement: { arn: expect.anything() as unknown } }],
      fromProxy('allowlist-ipv4-forwarded'),
      ['allowlist-ipv6', { ipSetReferenceStatement: { arn: expect.anything() as unknown } }],
      fromProxy('allowlist-ipv6-forwarded'),
    ]);
  });

  it('without forwardedIp, no ALLOW rule reads a header on CloudFront', () => {
    const rules = webAclRulesOf(parseConfig({}));
    const allow = rules.filter((rule) => rule.action && 'allow' in rule.action);
    expect(allow.map((rule) => rule.statement)).toEqual([
      { ipSetReferenceStatement: { arn: expect.anything() as unknown } },
      { ipSetReferenceStatement: { arn: expect.anything() as unknown } },
    ]);
  });

  it('proxyInFrontOfCloudFront with scope REGIONAL is refused: it says nothing there', () => {
    configErrorOf(
      {
        scope: 'REGIONAL',
        forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites', proxyInFrontOfCloudFront: true },
        rateRules: RATE_BY_HEADER,
      },
      'forwardedIp.proxyInFrontOfCloudFront',
    );
  });
});

describe('forwardedIp.headerName must be a header that can hold the client address', () => {
  const withHeader = (headerName: string) => ({
    scope: 'REGIONAL',
    forwardedIp: { headerName, setByOwnProxy: 'overwrites' },
    rateRules: RATE_BY_HEADER,
  });

  it.each(['Forwarded', 'Host', 'Cookie', 'User-Agent', 'referer', 'ACCEPT', 'Sec-Fetch-Site', 'X-Forwarded-Proto'])(
    '%s is refused, naming forwardedIp.headerName',
    (name) => {
      const message = configErrorOf(withHeader(name), 'forwardedIp.headerName');
      expect(message).toContain(`is "${name}"`);
    },
  );

  it('Forwarded is refused with the reason: its value is for=…, not an address', () => {
    expect(configErrorOf(withHeader('Forwarded'), 'forwardedIp.headerName')).toContain('RFC 7239');
  });

  it.each([
    'X-Forwarded-For',
    'X-Real-IP',
    'True-Client-IP',
    'CF-Connecting-IP',
    'X-Client-IP',
    'Fastly-Client-IP',
    'X-Shop-Client',
  ])('%s is read', (name) => {
    expect(parseConfig(withHeader(name)).forwardedIp?.headerName).toBe(name);
  });

  it('every name on the documented denylist is refused', () => {
    for (const name of NON_ADDRESS_HEADERS) configErrorOf(withHeader(name), 'forwardedIp.headerName');
  });
});

describe('forwardedIp.setByOwnProxy wording', () => {
  it.each([['sets'], [true], [null]])('%j is refused with the two choices', (value) => {
    expect(
      configErrorOf(
        { scope: 'REGIONAL', forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: value } },
        'forwardedIp.setByOwnProxy',
      ),
    ).toBe('invalid configuration: forwardedIp.setByOwnProxy must be overwrites or appends');
  });

  it('left out, it says it is missing', () => {
    expect(
      configErrorOf({ scope: 'REGIONAL', forwardedIp: { headerName: 'X-Real-IP' } }, 'forwardedIp.setByOwnProxy'),
    ).toBe('invalid configuration: forwardedIp.setByOwnProxy must be overwrites or appends');
  });
});
