/**
 * A key written twice in one object of a `-c` value (issue 10, round 3, finding 1): JSON.parse
 * keeps the last one silently, so `-c 'wafAutoblock.forwardedIp={"headerName":"X-Real-IP",…,
 * "headerName":"X-Forwarded-For"}'` trusted X-Forwarded-For. `-c` values reach the app as the text
 * typed (the CDK CLI does not parse them), so they are refused as a config file is.
 */
import { describe, expect, it } from 'vitest';
import { contextErrorOf, loadWithContext } from '../support/config-errors';

describe('a key written twice in a -c value', () => {
  it.each([
    [
      'wafAutoblock.forwardedIp',
      '{"headerName":"X-Real-IP","setByOwnProxy":"overwrites","headerName":"X-Forwarded-For"}',
      'forwardedIp.headerName',
      '(in -c wafAutoblock.forwardedIp)',
    ],
    [
      'wafAutoblock.rateRules',
      '[{"name":"r","limit":100,"aggregateKey":"FORWARDED_IP","aggregateKey":"IP"}]',
      'rateRules[0].aggregateKey',
      '(in -c wafAutoblock.rateRules)',
    ],
    ['wafAutoblock', '{"scope":"REGIONAL","scope":"CLOUDFRONT"}', 'scope', '(in -c wafAutoblock)'],
    ['wafAutoblock.rateRules', '[{"name":"r","limit":100,"limit":5}]', 'rateRules[0].limit', ''],
    ['wafAutoblock.rateRules[0]', '{"name":"r","limit":100,"limit":5}', 'rateRules[0].limit', ''],
  ])('-c %s=%s names %s', (key, value, named, where) => {
    const message = contextErrorOf({ [key]: value }, named);
    expect(message).toContain(`${named} ${where}`.trim());
    expect(message).toContain('is written twice in one object');
  });

  it('the same key in two objects of one value is no repeat', () => {
    const config = loadWithContext({
      'wafAutoblock.rateRules': '[{"name":"a","limit":100},{"name":"b","limit":200}]',
    });
    expect(config.rateRules.map((rule) => rule.limit)).toEqual([100, 200]);
  });

  it('a repeated key inside a string value is text, not a key', () => {
    const config = loadWithContext({ 'wafAutoblock.stackName': '"a-b"' });
    expect(config.stackName).toBe('a-b');
  });
});
