/**
 * A client-IP header sent as two fields (issue 10, round 3, finding 7): `X-Real-IP: 45.33.50.7`
 * and `X-Real-IP: 45.33.99.10` is counted as the one field `45.33.50.7, 45.33.99.10` is: several
 * addresses in the header, warned about, since the proxy that should overwrite it did not.
 */
import { describe, expect, it } from 'vitest';
import { RateSimulator, type SimulatedRule } from '../../cli/replay/simulator';
import type { LoggedRequest } from '../../cli/replay/waf-log';

const T0 = Date.UTC(2025, 0, 1);
const RULE: SimulatedRule = {
  name: 'login',
  limit: 10,
  windowSeconds: 60,
  aggregateKey: 'FORWARDED_IP',
  forwardedIpHeader: 'X-Real-IP',
};

function tallyOf(headers: LoggedRequest['headers']) {
  const simulator = new RateSimulator([RULE]);
  for (let i = 0; i < 12; i++)
    simulator.observe({ timestamp: T0 + i * 100, clientIp: '45.33.99.10', uri: '/', headers });
  return simulator.tallies()[0];
}

describe('a repeated client-IP header field', () => {
  it('two X-Real-IP fields count as a header of several addresses, as one field with both does', () => {
    const twoFields = tallyOf([
      { name: 'X-Real-IP', value: '45.33.50.7' },
      { name: 'x-real-ip', value: '45.33.99.10' },
    ]);
    const oneField = tallyOf([{ name: 'X-Real-IP', value: '45.33.50.7, 45.33.99.10' }]);
    expect(twoFields).toMatchObject({ counted: 12, multiValued: 12 });
    expect(oneField).toMatchObject({ counted: 12, multiValued: 12 });
  });

  it('one field of one address is no warning', () => {
    expect(tallyOf([{ name: 'X-Real-IP', value: '45.33.50.7' }])).toMatchObject({ multiValued: 0 });
  });
});
