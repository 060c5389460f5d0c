/**
 * Lists as a tester who tried to break them wrote them (issue 10, configuration findings 8 to 11
 * and 19): an allowlist that allows everybody in pieces, associations WAF cannot make, entries
 * written twice, rule names that differ only in case.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';

const REGIONAL = { scope: 'REGIONAL', region: 'eu-west-1', account: '123456789012' } as const;
const ALB = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188';

/**
 * All of IPv6 but the IPv4-mapped ::ffff:0:0/96 (which is read as IPv4): the sibling of that
 * block at each prefix from /1 to /96, in uncompressed text.
 */
function everyIpv6ButMapped(): string[] {
  const mapped = 0xffffn << 32n;
  return Array.from({ length: 96 }, (_, index) => {
    const prefix = index + 1;
    const bit = 1n << BigInt(128 - prefix);
    const sibling = (mapped ^ bit) & ~(bit - 1n);
    const groups = Array.from({ length: 8 }, (_, g) => ((sibling >> BigInt(112 - 16 * g)) & 0xffffn).toString(16));
    return `${groups.join(':')}/${prefix}`;
  });
}

describe('an allowlist that together covers a whole family is refused like /0', () => {
  it('::/1 with 8000::/1 is refused entry by entry: ::/1 holds the IPv4-mapped block', () => {
    expect(configErrorOf({ allowlist: ['::/1', '8000::/1'] }, 'allowlist[0]')).toContain('IPv4-mapped');
  });

  it.each([
    [['0.0.0.0/1', '128.0.0.0/1'], 'every IPv4 address'],
    [everyIpv6ButMapped(), 'every IPv6 address'],
    [['0.0.0.0/2', '64.0.0.0/2', '128.0.0.0/1', '198.51.100.0/24'], 'every IPv4 address'],
    [['128.0.0.0/1', '0.0.0.0/1'], 'every IPv4 address'],
    [['::ffff:0:0/97', '128.0.0.0/1'], 'every IPv4 address'],
  ])('%j names allowlist: %s', (allowlist, what) => {
    expect(configErrorOf({ allowlist }, 'allowlist')).toContain(`together covers ${what}`);
  });

  it("half of a family, or both halves but one address short, is the user's choice", () => {
    expect(parseConfig({ allowlist: ['0.0.0.0/1'] }).allowlist).toEqual(['0.0.0.0/1']);
    expect(
      parseConfig({ allowlist: ['0.0.0.0/1', '128.0.0.0/2', '192.0.0.0/3', '224.0.0.0/4'] }).allowlist,
    ).toHaveLength(4);
    expect(parseConfig({ allowlist: ['0.0.0.0/1', '2000::/3', '8000::/2'] }).allowlist).toHaveLength(3);
  });
});

describe('associations WAF cannot make are refused naming the entry', () => {
  it('a Network Load Balancer, with the supported types', () => {
    const message = configErrorOf(
      {
        ...REGIONAL,
        associations: ['arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/nlb/50dc6c495c0c9188'],
      },
      'associations[0]',
    );
    expect(message).toContain('is a Network or Gateway Load Balancer, which WAF cannot protect');
    for (const type of [
      'Application Load Balancer',
      'API Gateway REST API stage',
      'AppSync GraphQL API',
      'Cognito user pool',
      'App Runner service',
      'Verified Access instance',
    ])
      expect(message).toContain(type);
    expect(message).toContain("CloudFront distributions only from the distribution's own setting");
  });

  it('an S3 bucket is no resource type WAF protects', () => {
    expect(
      configErrorOf(
        { ...REGIONAL, associations: ['arn:aws:s3:eu-west-1:123456789012:bucket/site'] },
        'associations[0]',
      ),
    ).toContain('is not a resource type that WAF can protect');
  });

  it.each([['REGIONAL'], ['CLOUDFRONT']])(
    "a CloudFront distribution (scope %s) is associated from the distribution's side",
    (scope) => {
      expect(
        configErrorOf(
          { scope, associations: ['arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE'] },
          'associations[0]',
        ),
      ).toContain(
        "a CloudFront distribution is associated from the distribution's side (WebACLId); use scope CLOUDFRONT and set the web ACL on the distribution",
      );
    },
  );

  it('the same resource twice, instead of cfn-lint E3019 after synth', () => {
    expect(configErrorOf({ ...REGIONAL, associations: [ALB, ALB] }, 'associations[1]')).toContain(
      'repeats associations[0]',
    );
  });

  it('a region that does not exist, in the ARN', () => {
    const arn = 'arn:aws:elasticloadbalancing:eu-wset-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188';
    expect(configErrorOf({ scope: 'REGIONAL', associations: [arn] }, 'associations[0]')).toContain(
      'names region "eu-wset-1", which is not an AWS region',
    );
  });

  it('a region that does not exist, as the deployment region (the pattern alone let it through to the deploy)', () => {
    expect(configErrorOf({ scope: 'REGIONAL', region: 'eu-wset-1' }, 'region')).toContain(
      'names region "eu-wset-1", which is not an AWS region',
    );
    expect(parseConfig({ scope: 'REGIONAL', region: 'eu-west-1' }).region).toBe('eu-west-1');
  });

  it('every supported type is accepted, an API Gateway stage (no account in its ARN) too', () => {
    const associations = [
      ALB,
      'arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5/stages/prod',
      'arn:aws:appsync:eu-west-1:123456789012:apis/abcdefghijklmnopqrstuvwxyz',
      'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEfGhI',
      'arn:aws:apprunner:eu-west-1:123456789012:service/shop/8fe1e10304f84fd2b0df550fe98a71fa',
      'arn:aws:ec2:eu-west-1:123456789012:verified-access-instance/vai-0ce000c0b7643abea',
    ];
    expect(parseConfig({ ...REGIONAL, associations }).associations).toEqual(associations);
  });
});

describe('entries written twice', () => {
  it('notifier.chatIds', () => {
    expect(
      configErrorOf(
        { notifier: { chatIds: ['-1001234567890', '@opschannel', '-1001234567890'] } },
        'notifier.chatIds[2]',
      ),
    ).toBe(
      'invalid configuration: notifier.chatIds[2] repeats notifier.chatIds[0] ("-1001234567890"): that chat would get every message twice; list it once',
    );
  });

  it('logging.actions', () => {
    expect(configErrorOf({ logging: { actions: ['BLOCK', 'COUNT', 'BLOCK'] } }, 'logging.actions[2]')).toBe(
      'invalid configuration: logging.actions[2] repeats logging.actions[0] ("BLOCK"); list it once',
    );
  });

  it('a rate rule name, exactly', () => {
    expect(
      configErrorOf(
        {
          rateRules: [
            { name: 'login', limit: 100 },
            { name: 'login', limit: 50 },
          ],
        },
        'rateRules[1].name',
      ),
    ).toContain('duplicates the rule name "login" of rateRules[0]: WAF requires unique rule names');
  });

  it('rate rule names that differ only in case, saying why', () => {
    expect(
      configErrorOf(
        {
          rateRules: [
            { name: 'login', limit: 100 },
            { name: 'Login', limit: 50 },
          ],
        },
        'rateRules[1].name',
      ),
    ).toContain('differs from rateRules[0].name only in case: their CloudWatch metrics');
  });
});

describe('one whitespace rule for every text value (issue 10)', () => {
  it('trims ASCII whitespace, U+00A0 and U+FEFF around allowlist entries and other keys', () => {
    const config = parseConfig({
      ...REGIONAL,
      region: ' eu-west-1\u00a0',
      allowlist: [' 1.2.3.4', '\ufeff2a01:4f8::/32\t'],
      notifier: { chatIds: ['@opschannel '] },
    });
    expect(config.region).toBe('eu-west-1');
    expect(config.allowlist).toEqual(['1.2.3.4/32', '2a01:4f8::/32']);
    expect(config.notifier.chatIds).toEqual(['@opschannel']);
  });

  it.each([
    [{ allowlist: ['\u20031.2.3.4'] }, 'allowlist[0]', '"\u20031.2.3.4" holds U+2003 (em space)'],
    [{ stackName: 'Shop\u3000' }, 'stackName', '"Shop\u3000" holds U+3000 (ideographic space)'],
  ])('%j is refused naming the key and the character', (raw, key, said) => {
    expect(configErrorOf(raw, key)).toBe(
      `invalid configuration: ${key} ${said}, a space that is not trimmed; write the value without it`,
    );
  });

  it('a -c value with a no-break space around a number is the number', () => {
    const context: Record<string, unknown> = { 'wafAutoblock.alarm.threshold': '\u00a0500 ' };
    expect(loadConfig((key) => context[key], Object.keys(context)).alarm.threshold).toBe(500);
  });
});
