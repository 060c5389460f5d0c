/**
 * Issue 10, a tester's second round: forwardedIp headers whose value is not a bare address, and
 * the `appends` refusal's advice whatever the header.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';

const RATE_BY_HEADER = [{ name: 'rate-all', limit: 2000, aggregateKey: 'FORWARDED_IP' }] as const;
const withHeader = (headerName: string, setByOwnProxy = 'overwrites') => ({
  scope: 'REGIONAL',
  forwardedIp: { headerName, setByOwnProxy },
  rateRules: RATE_BY_HEADER,
});

describe('forwardedIp.headerName that CloudFront writes', () => {
  it('CloudFront-Viewer-Address is refused: its value is address:port, so WAF would block every request', () => {
    const message = configErrorOf(withHeader('CloudFront-Viewer-Address'), 'forwardedIp.headerName');
    expect(message).toContain('"<address>:<port>"');
    expect(message).toContain('every request would be blocked');
    expect(message).toContain('set True-Client-IP to event.viewer.ip');
    expect(message).toContain('origin request policy');
  });

  it.each([
    'cloudfront-viewer-address',
    'CloudFront-Viewer-Country',
    'CloudFront-Viewer-ASN',
    'CloudFront-Is-Mobile-Viewer',
  ])('%s is refused, suggesting True-Client-IP', (name) => {
    expect(configErrorOf(withHeader(name), 'forwardedIp.headerName')).toContain('name "True-Client-IP" here');
  });

  it('True-Client-IP, the header a CloudFront function can set, is read', () => {
    expect(parseConfig(withHeader('True-Client-IP')).forwardedIp?.headerName).toBe('True-Client-IP');
  });
});

describe('the appends refusal says what to do whatever the header', () => {
  it.each(['X-Real-IP', 'X-Forwarded-For'])(
    'with %s it does not tell the user to use the header they named',
    (header) => {
      const message = configErrorOf(withHeader(header, 'appends'), 'rateRules[0].aggregateKey');
      expect(message).toContain(
        `if your proxy in fact replaces ${header}'s value with the one client address it saw, declare setByOwnProxy overwrites`,
      );
      expect(message).not.toContain('e.g. X-Real-IP');
    },
  );
});
