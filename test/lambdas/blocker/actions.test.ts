import { describe, expect, it } from 'vitest';
import { planActions, withActions, type BanAction, type OperatorAction } from '#blocker/actions';
import { createNormalizePolicy } from '#core/normalize';
import type { Sighting } from '#core/types';

const MINUTE = 60_000;
const DURATION = 240 * MINUTE;
const policy = createNormalizePolicy({ ipv4Prefix: 24, ipv6Prefix: 64, allowlist: ['80.80.80.0/24'] });
const ban = (address: string, extra: Omit<BanAction, 'action' | 'address' | 'source'> = {}): BanAction => ({
  action: 'ban',
  address,
  source: 'fail2ban@web1',
  ...extra,
});
const unban = (address: string): OperatorAction => ({ action: 'unban', address, source: 'fail2ban@web1' });

describe('planActions', () => {
  it('widens bans as the blocker widens keys, with the asked duration and reason', () => {
    const plan = planActions(
      [ban('45.33.12.7', { durationMinutes: 60, reason: 'ssh' }), ban('2a01:4f8:1:2::5'), ban('45.0.0.0/16')],
      policy,
      DURATION,
    );
    expect(plan.bans).toEqual([
      {
        range: '45.33.12.0/24',
        family: 'IPV4',
        source: 'fail2ban@web1',
        hits: 1,
        durationMs: 60 * MINUTE,
        reason: 'ssh',
      },
      { range: '2a01:4f8:1:2::/64', family: 'IPV6', source: 'fail2ban@web1', hits: 1, durationMs: DURATION },
      // A range wider than the prefix keeps its own width.
      { range: '45.0.0.0/16', family: 'IPV4', source: 'fail2ban@web1', hits: 1, durationMs: DURATION },
    ]);
  });

  it('refuses what the blocker would refuse, naming the address and the reason', () => {
    const plan = planActions(
      [ban('80.80.80.9'), ban('192.168.1.1'), ban('0.0.0.0/0'), ban('44.0.0.0/7'), ban('1.2.3')],
      policy,
      DURATION,
    );
    expect(plan.bans).toEqual([]);
    expect(plan.resolved.map((item) => (item.kind === 'refused' ? item.detail : item.kind))).toEqual([
      '80.80.80.9 (range 80.80.80.0/24) overlaps the allowlist: never blocked',
      '192.168.1.1 (range 192.168.1.0/24) is not globally routable (private, loopback, link-local, documentation, multicast or reserved): never blocked',
      '0.0.0.0/0 is a /0, the whole address family: never blocked',
      '44.0.0.0/7 is wider than /16, the widest IPv4 range a ban may name: never blocked',
      '"1.2.3" is not an IPv4 or IPv6 address or CIDR range',
    ]);
  });

  it('refuses a ban wider than /16 (IPv4): one typo must not block millions of addresses', () => {
    const plan = planActions([ban('45.32.0.0/15'), ban('45.33.0.0/16')], policy, DURATION);
    expect(plan.resolved[0]).toMatchObject({
      kind: 'refused',
      reason: 'too-wide',
      detail: '45.32.0.0/15 is wider than /16, the widest IPv4 range a ban may name: never blocked',
    });
    expect(plan.bans.map((sighting) => sighting.range)).toEqual(['45.33.0.0/16']);
  });

  it.each([
    // A ban: /16 for IPv4, /32 for IPv6, whether the range is wider than /8 or not.
    [ban('2a01:4f8::/31'), '2a01:4f8::/31 is wider than /32, the widest IPv6 range a ban may name: never blocked'],
    [ban('45.0.0.0/8'), '45.0.0.0/8 is wider than /16, the widest IPv4 range a ban may name: never blocked'],
    [ban('44.0.0.0/6'), '44.0.0.0/6 is wider than /16, the widest IPv4 range a ban may name: never blocked'],
    // An unban: any range a block can have, /8 for IPv4 (a deployment may widen keys to a /8), /32 for IPv6.
    [unban('44.0.0.0/7'), '44.0.0.0/7 is wider than /8, the widest IPv4 range waf-autoblock blocks: nothing to unban'],
    [unban('2a00::/16'), '2a00::/16 is wider than /32, the widest IPv6 range waf-autoblock blocks: nothing to unban'],
  ])('refuses a too wide %j naming the limit of its family for its action', (action, detail) => {
    const plan = planActions([action], policy, DURATION);
    expect(plan.resolved).toEqual([{ kind: 'refused', action, reason: 'too-wide', detail }]);
  });

  it('takes an unban as wide as the widest block: an IPv4 /8 and an IPv6 /32', () => {
    const plan = planActions([unban('45.0.0.0/8'), unban('2a01:4f8::/32')], policy, DURATION);
    expect([...plan.unbans]).toEqual([
      ['45.0.0.0/8', 'IPV4'],
      ['2a01:4f8::/32', 'IPV6'],
    ]);
  });

  it('judges the /16 cap on the range as written, so a deployment that widens keys to a /12 can still ban', () => {
    const wide = createNormalizePolicy({ ipv4Prefix: 12, ipv6Prefix: 64 });
    const plan = planActions([ban('45.33.12.7'), ban('45.32.0.0/15')], wide, DURATION);
    expect(plan.bans.map((sighting) => sighting.range)).toEqual(['45.32.0.0/12']);
    expect(plan.resolved[1]).toMatchObject({ kind: 'refused', reason: 'too-wide' });
  });

  it('unbans an allowlisted range (it may have been blocked before it was allowlisted)', () => {
    const plan = planActions([unban('80.80.80.0/24')], policy, DURATION);
    expect([...plan.unbans]).toEqual([['80.80.80.0/24', 'IPV4']]);
  });

  it('unbans the range an address widens to, and the range exactly as written (a block from before a prefix change)', () => {
    const wide = createNormalizePolicy({ ipv4Prefix: 16, ipv6Prefix: 48 });
    const plan = planActions([unban('45.33.12.0/24'), unban('2a01:4f8:1:2::/64')], wide, DURATION);
    expect([...plan.unbans]).toEqual([
      ['45.33.0.0/16', 'IPV4'],
      ['45.33.12.0/24', 'IPV4'],
      ['2a01:4f8:1::/48', 'IPV6'],
      ['2a01:4f8:1:2::/64', 'IPV6'],
    ]);
  });

  it('lets the last action on a range win', () => {
    const plan = planActions(
      [ban('45.33.12.7'), unban('45.33.12.200'), unban('185.220.101.4'), ban('185.220.101.9')],
      policy,
      DURATION,
    );
    expect(plan.bans.map((sighting) => sighting.range)).toEqual(['185.220.101.0/24']);
    expect([...plan.unbans.keys()]).toEqual(['45.33.12.0/24']);
  });
});

describe('withActions', () => {
  const seen = (range: string, hits: number): Sighting => ({ range, family: 'IPV4', source: 'rate-ip', hits });

  it("gives a banned range the ban's source and the longer duration, and drops unbanned ranges this run", () => {
    const plan = planActions(
      [ban('45.33.12.7', { durationMinutes: 10 }), unban('185.220.101.4'), ban('94.102.61.1')],
      policy,
      DURATION,
    );
    const merged = withActions(
      [seen('45.33.12.0/24', 5), seen('185.220.101.0/24', 3), seen('62.1.1.0/24', 1)],
      plan,
      DURATION,
    );
    expect(merged).toEqual([
      { range: '45.33.12.0/24', family: 'IPV4', source: 'fail2ban@web1', hits: 6, durationMs: DURATION },
      seen('62.1.1.0/24', 1),
      { range: '94.102.61.0/24', family: 'IPV4', source: 'fail2ban@web1', hits: 1, durationMs: DURATION },
    ]);
  });
});
