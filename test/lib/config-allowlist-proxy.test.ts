/**
 * With `forwardedIp`, the ALLOW rule still matches the source IP, which behind the proxy is the
 * proxy: an allowlist entry in private or other non-global space would allow everybody that comes
 * through it (issue 10, second round, finding 3).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';

const BEHIND_PROXY = {
  scope: 'REGIONAL',
  forwardedIp: { headerName: 'X-Real-IP', setByOwnProxy: 'overwrites', trustedProxies: ['173.245.48.0/20'] },
  rateRules: [{ name: 'rate-all', limit: 2000, aggregateKey: 'FORWARDED_IP' }],
} as const;

describe('allowlist behind a proxy', () => {
  it.each([
    '10.0.0.0/8',
    '172.16.0.0/12',
    '192.168.1.10',
    '100.64.0.0/10',
    'fd00::/8',
    'fc00::/7',
    '127.0.0.1',
    '0.0.0.0/1',
  ])('%s is refused, naming the entry and why everybody would pass', (entry) => {
    const message = configErrorOf({ ...BEHIND_PROXY, allowlist: [entry, '81.2.69.142'] }, 'allowlist[0]');
    expect(message).toContain('covers non-global space');
    expect(message).toContain("the proxy's own address");
    expect(message).toContain('everybody behind the proxy would be allowed');
  });

  it('names the index of the offending entry', () => {
    configErrorOf({ ...BEHIND_PROXY, allowlist: ['81.2.69.0/24', '10.1.2.3'] }, 'allowlist[1]');
  });

  it('global entries are accepted with forwardedIp', () => {
    expect(parseConfig({ ...BEHIND_PROXY, allowlist: ['81.2.69.0/24', '2a00:1450::/32'] }).allowlist).toEqual([
      '81.2.69.0/24',
      '2a00:1450::/32',
    ]);
  });

  it('without forwardedIp a private entry stays allowed: the source IP is then the client', () => {
    expect(parseConfig({ scope: 'REGIONAL', allowlist: ['10.0.0.0/8'] }).allowlist).toEqual(['10.0.0.0/8']);
  });
});
