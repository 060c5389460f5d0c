import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load';
import { configErrorOf } from '../support/config-errors';

const alb = (region: string, account = '123456789012') =>
  `arn:aws:elasticloadbalancing:${region}:${account}:loadbalancer/app/site/50dc6c495c0c9188`;

describe('associations (WAF refuses another region or account at deploy)', () => {
  it('a resource of another region than region: refused naming the entry', () => {
    const message = configErrorOf(
      { scope: 'REGIONAL', region: 'eu-west-1', associations: [alb('eu-west-1'), alb('us-east-1')] },
      'associations[1]',
    );
    expect(message).toContain('is in region us-east-1; the web ACL, in region eu-west-1');
  });

  it('a resource of another account than account: refused naming the entry', () => {
    const message = configErrorOf(
      {
        scope: 'REGIONAL',
        region: 'eu-west-1',
        account: '123456789012',
        associations: [alb('eu-west-1', '210987654321')],
      },
      'associations[0]',
    );
    expect(message).toContain('belongs to account 210987654321');
  });

  it('resources of the configured region and account, or with neither configured, are accepted', () => {
    const configured = { scope: 'REGIONAL', region: 'eu-west-1', account: '123456789012' } as const;
    expect(parseConfig({ ...configured, associations: [alb('eu-west-1')] }).associations).toEqual([alb('eu-west-1')]);
    expect(parseConfig({ scope: 'REGIONAL', associations: [alb('ap-south-1')] }).associations).toHaveLength(1);
  });
});
