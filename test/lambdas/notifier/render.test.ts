import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatCount,
  formatDuration,
  formatTime,
  PLAIN_BODY_LIMIT,
  renderAlarm,
  renderAlarmState,
  renderAllClear,
  renderPlain,
  renderReport,
} from '#notifier/render';
import type { AlarmNotice, AllClearSummary, AttackSummary, Gathered, PlainNotice, TopEntry } from '#notifier/types';
import { BLOCK_REPORT_KIND, fitReport, mergeReports, type BlockReport } from '#contracts/report';
import { normalizeReport } from '#notifier/classify';
import { ATTACK_AT, attackReport } from '../../support/block-reports';
import { expectSendable } from './harness';
import { ALARM, hostileText, MINUTE, NOW, OK, REPORT, SUMMARY } from './fixtures';
import { telegramEntities } from './telegram-entities';

const ALL_CLEAR: AllClearSummary = {
  alarmStartedAt: { ok: true, value: NOW - 2 * MINUTE },
  blocked: { ok: true, value: { ipv4: 37, ipv6: 4 } },
  managed: {
    ok: true,
    value: {
      count: 41,
      next: [
        { range: '198.51.100.0/24', expiresAt: NOW + 240 * MINUTE },
        { range: '2001:db8:4:5::/64', expiresAt: NOW + 245 * MINUTE },
      ],
    },
  },
};

describe('formatting', () => {
  it('counts, times and durations', () => {
    expect(formatCount(1_523_400)).toBe('1,523,400');
    expect(formatCount(-1234.6)).toBe('-1,235');
    expect(formatCount(Number.NaN)).toBe('?');
    expect(formatCount(2e21)).toBe('2,000,000,000,000,000,000,000');
    expect(formatTime(NOW)).toBe('2025-03-14 03:00 UTC');
    expect(formatTime(Number.NaN)).toBe('unknown time');
    expect(
      [45_000, 12 * MINUTE, 185 * MINUTE, 180 * MINUTE, 52 * 60 * MINUTE, 48 * 60 * MINUTE].map(formatDuration),
    ).toEqual(['45 s', '12 min', '3 h 5 min', '3 h', '2 d 4 h', '2 d']);
  });
});

describe('golden messages', () => {
  it('ALARM: the alarm, the top lists, CloudFront figures and the ranges blocked now', () => {
    expect(renderAlarm(ALARM, SUMMARY)).toEqual([
      `🚨 <b>Attack alarm</b> <code>WafAutoblock-BlockedRequests-1A2B3C</code>
<i>Threshold Crossed: 1 datapoint [48213.0 (14/03/25 02:55:00)] was greater than or equal to the threshold (3000.0).</i>
Since 2025-03-14 02:58 UTC (was OK)

<b>Blocked requests, last 15 min</b>
<b>Hosts</b>
1. <code>shop.example.com</code> · 41,200
2. <code>api.example.com</code> · 6,010
3. <code>203.0.113.10</code> · 1,003
<b>Client IPs</b>
1. <code>198.51.100.23</code> · 9,120
2. <code>198.51.100.77</code> · 8,804
3. <code>2001:db8:4:5::1</code> · 2,500
<b>Countries</b>
1. 🇳🇱 <code>NL</code> · 20,000
2. 🇺🇸 <code>US</code> · 15,000
3. <code>-</code> · 12
<b>Rules</b>
1. <code>rate-all</code> · 40,000
2. <code>blocklist-ipv4</code> · 8,213

<b>CloudFront, last hour</b> · 4 distributions
By requests:
1. <code>E2SHOP</code> shop.example.com · 1,523,400 requests · 5xx 2.5% · all errors 38.3%
2. <code>E3API</code> api.example.com · 80,000 requests · 5xx 0.1% · all errors 4.0%
By 5xx error rate:
1. <code>E2SHOP</code> shop.example.com · 1,523,400 requests · 5xx 2.5% · all errors 38.3%
2. <code>E3API</code> api.example.com · 80,000 requests · 5xx 0.1% · all errors 4.0%

<b>Blocked now:</b> 41 ranges in the blocklists (IPv4 37, IPv6 4)`,
    ]);
  });

  it('ALARM with parts missing: says which, where they would have been and once more at the end', () => {
    const partial: AttackSummary = {
      ...SUMMARY,
      top: { ...SUMMARY.top, countries: { ok: false, reason: 'not finished in time' }, rules: { ok: true, value: [] } },
      cloudfront: { ok: false, reason: 'ReadError: could not read CloudFront distributions: AccessDenied' },
      blocked: { ok: false, reason: 'ReadError: could not read IP set x' },
    };
    const [message] = renderAlarm(ALARM, partial);
    expect(message).toContain(
      '<b>Countries</b> <i>missing (not finished in time)</i>\n<b>Rules</b>\n<i>none logged</i>',
    );
    expect(message).toContain(
      '<b>CloudFront, last hour</b>\n<i>missing (ReadError: could not read CloudFront distributions: AccessDenied)</i>',
    );
    expect(message).toContain('<b>Blocked now:</b> <i>missing (ReadError: could not read IP set x)</i>');
    expect(message).toMatch(
      /\n\n⚠️ <b>Incomplete:<\/b> countries, CloudFront figures, blocked ranges could not be read$/,
    );
  });

  it('ALARM for a REGIONAL web ACL: no CloudFront section', () => {
    const regional: AttackSummary = {
      windowMinutes: SUMMARY.windowMinutes,
      top: SUMMARY.top,
      blocked: SUMMARY.blocked,
    };
    const [message] = renderAlarm({ ...ALARM, reason: undefined, oldState: undefined }, regional);
    expect(message).not.toContain('CloudFront');
    expect(message?.split('\n').slice(0, 3)).toEqual([
      '🚨 <b>Attack alarm</b> <code>WafAutoblock-BlockedRequests-1A2B3C</code>',
      'Since 2025-03-14 02:58 UTC',
      '',
    ]);
  });

  it('OK: all clear, how long it lasted, what is blocked and what expires next', () => {
    expect(renderAllClear(OK, ALL_CLEAR, { now: NOW + 45 * MINUTE })).toEqual([
      `✅ <b>All clear</b> <code>WafAutoblock-BlockedRequests-1A2B3C</code>
<i>Threshold Crossed: 1 datapoint [12.0 (14/03/25 03:40:00)] was not greater than or equal to the threshold (3000.0).</i>
Back to OK at 2025-03-14 03:45 UTC; the alarm lasted <b>47 min</b> (since 2025-03-14 02:58 UTC).

<b>Blocked now:</b> 41 ranges in the blocklists (IPv4 37, IPv6 4)
<b>Managed by the blocker:</b> 41 ranges; next to expire:
• <code>198.51.100.0/24</code> at 2025-03-14 07:00 UTC (in 3 h 15 min)
• <code>2001:db8:4:5::/64</code> at 2025-03-14 07:05 UTC (in 3 h 20 min)
<i>… and 39 more</i>`,
    ]);
  });

  it('OK when the history has no ALARM, nothing is managed, or parts are unreadable', () => {
    const [quiet] = renderAllClear(
      OK,
      {
        alarmStartedAt: { ok: true, value: undefined },
        blocked: { ok: true, value: { ipv4: 0, ipv6: 0 } },
        managed: { ok: true, value: { count: 0, next: [] } },
      },
      { now: NOW },
    );
    expect(quiet).toContain(
      'Back to OK at 2025-03-14 03:45 UTC; how long it lasted is unknown (no ALARM state found in the alarm history).',
    );
    expect(quiet).toContain('The blocker manages no ranges now: nothing left to expire.');
    const [failed] = renderAllClear(
      OK,
      {
        alarmStartedAt: { ok: false, reason: 'ReadError: could not read alarm history' },
        blocked: { ok: true, value: { ipv4: 2, ipv6: 0 } },
        managed: { ok: false, reason: 'ReadError: could not read ledger table T' },
      },
      { now: NOW },
    );
    expect(failed).toContain('how long it lasted is unknown (ReadError: could not read alarm history)');
    expect(failed).toContain('<b>Next to expire:</b> <i>missing (ReadError: could not read ledger table T)</i>');
  });

  it('INSUFFICIENT_DATA (or any other state): the state and its reason', () => {
    const notice: AlarmNotice = {
      ...ALARM,
      newState: 'INSUFFICIENT_DATA',
      reason: 'Insufficient Data: 1 datapoint was unknown.',
    };
    expect(renderAlarmState(notice)).toEqual([
      `ℹ️ <b>Alarm state changed</b> <code>WafAutoblock-BlockedRequests-1A2B3C</code>
<i>Insufficient Data: 1 datapoint was unknown.</i>
Now <code>INSUFFICIENT_DATA</code>, was OK at 2025-03-14 02:58 UTC`,
    ]);
  });

  it('a block report: added with their rule, expired, hosts, IP sets, refused keys', () => {
    expect(renderReport(REPORT, { now: NOW })).toEqual([
      `🛡 <b>Blocklist updated</b> · web ACL <code>WafAutoblock-web-acl</code>
Run at 2025-03-14 03:00 UTC

<b>Added: 2</b>
• <code>198.51.100.0/24</code> · rate-all · 2 hits
• <code>2001:db8:4:5::/64</code> · rate-login · 1 hit

<b>Expired: 1</b>
• <code>192.0.2.0/24</code> · rate-all · last seen 2025-03-13 22:00 UTC

<b>Most attacked hosts</b>
1. <code>shop.example.com</code> · 97

<b>IP sets</b>
• <code>WafAutoblock-blocklist-ipv4</code> 37 / 10,000 (IPv4)
• <code>WafAutoblock-blocklist-ipv6</code> 4 / 10,000 (IPv6)
<b>Addresses not blocked:</b> allowlisted 1, non-global 3`,
    ]);
  });

  it('a block report with long lists: the first maxListedRanges, then "and N more"; dry run and overflow said', () => {
    const ranges = (n: number) => Array.from({ length: n }, (_, i) => `203.0.${Math.floor(i / 256)}.${i % 256}/32`);
    const [message] = renderReport(
      {
        ...REPORT,
        dryRun: true,
        collected: false,
        added: ranges(25).map((range) => ({ range, source: 'rate-all', hits: 3 })),
        overflow: { count: 1200, sample: ranges(20) },
        unreadableRules: ['rate-login', 'rate-api'],
      },
      { now: NOW, maxListedRanges: 3 },
    );
    expect(message).toContain(`<i>Dry run: nothing was written; this is what would have changed.</i>
<i>The alarm was not in ALARM: no new attackers were collected.</i>

<b>Added: 25</b>
• <code>203.0.0.0/32</code> · rate-all · 3 hits
• <code>203.0.0.1/32</code> · rate-all · 3 hits
• <code>203.0.0.2/32</code> · rate-all · 3 hits
<i>… and 22 more</i>`);
    expect(message)
      .toContain(`⚠️ <b>Overflow: 1,200</b> ranges did not fit in their IP set (the most recent and most active were kept)
• <code>203.0.0.0/32</code>
• <code>203.0.0.1/32</code>
• <code>203.0.0.2/32</code>
<i>… and 1,197 more</i>`);
    expect(message).toContain('⚠️ <b>Rules not read this run:</b> <code>rate-login</code>, <code>rate-api</code>');
  });

  it('the manual test (`aws sns publish --message test`): a labelled plain notification', () => {
    expect(renderPlain({ kind: 'plain', body: 'test', shape: 'text', topicName: 'WafAutoblock-AlertTopic' })).toEqual([
      `📣 <b>Message on</b> <code>WafAutoblock-AlertTopic</code>
<i>Neither an alarm nor a block report; shown as it was published.</i>

test

<i>If you sent this to test your alerts: delivery to this chat works.</i>`,
    ]);
  });

  it('JSON of an unknown shape and an empty message are labelled as such', () => {
    expect(
      renderPlain({
        kind: 'plain',
        body: '{"hello":"<world>"}',
        shape: 'json',
        subject: 'Hi & bye',
        topicName: 'WafAutoblock-ReportsTopic',
      }),
    ).toEqual([
      `📣 <b>Message on</b> <code>WafAutoblock-ReportsTopic</code>
<i>JSON of a shape the notifier does not know; shown as it was published.</i>
<b>Subject:</b> Hi &amp; bye

{&quot;hello&quot;:&quot;&lt;world&gt;&quot;}

<i>If you sent this to test your alerts: delivery to this chat works.</i>`,
    ]);
    expect(renderPlain({ kind: 'plain', body: '', shape: 'empty' })).toEqual([
      `📣 <b>Message on</b> <code>an SNS topic</code>
<i>An empty message.</i>

<i>If you sent this to test your alerts: delivery to this chat works.</i>`,
    ]);
  });
});

describe('hostile input', () => {
  const withHosts = (...keys: string[]): AttackSummary => ({
    ...SUMMARY,
    top: { ...SUMMARY.top, hosts: { ok: true, value: keys.map((key, i) => ({ key, count: 100 - i })) } },
  });

  it('escapes markup, stray ampersands and attempts to close our tags', () => {
    const [message] = renderAlarm(
      ALARM,
      withHosts('<script>alert(1)</script>', 'a&b', '&amp;', '</code><b>bold</b><a href="http://x">', '"quoted"'),
    );
    expect(message).toContain('1. <code>&lt;script&gt;alert(1)&lt;/script&gt;</code> · 100');
    expect(message).toContain('2. <code>a&amp;b</code> · 99');
    expect(message).toContain('3. <code>&amp;amp;</code> · 98');
    expect(message).toContain(
      '4. <code>&lt;/code&gt;&lt;b&gt;bold&lt;/b&gt;&lt;a href=&quot;http://x&quot;&gt;</code> · 97',
    );
    expect(message).toContain('5. <code>&quot;quoted&quot;</code> · 96');
    expectSendable([message ?? '']);
  });

  it('cuts a 10 KB Host header to 200 characters and keeps the message within the limit', () => {
    const huge = `${'a'.repeat(5_000)}&<${'b'.repeat(5_000)}`;
    const messages = renderAlarm(ALARM, withHosts(huge, huge, huge, huge, huge));
    expectSendable(messages);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`1. <code>${'a'.repeat(199)}…</code> · 100`);
  });

  it('keeps emoji and right-to-left text, neutralizes bidi overrides, line breaks and lone surrogates', () => {
    const [message] = renderAlarm(
      ALARM,
      withHosts('🔥.example.com', 'שלום.example', 'مرحبا.example', 'evil\u202Emoc.elgoog', 'two\nlines\uD800'),
    );
    expect(message).toContain('<code>🔥.example.com</code>');
    expect(message).toContain('<code>שלום.example</code>');
    expect(message).toContain('<code>مرحبا.example</code>');
    expect(message).toContain('<code>evil\uFFFDmoc.elgoog</code>');
    expect(message).toContain('<code>two lines\uFFFD</code>');
    expectSendable([message ?? '']);
  });

  it('never cuts an emoji in half when a value is clipped', () => {
    const [message] = renderAlarm(ALARM, withHosts('😀'.repeat(150)));
    expect(message).toContain(`<code>${'😀'.repeat(99)}…</code>`);
    expect(message).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('a report of 50,000 ranges with hostile sources stays within the limits', () => {
    const report: BlockReport = {
      ...REPORT,
      added: Array.from({ length: 50_000 }, (_, i) => ({ range: `10.${i}.0.0/16<b>`, source: '</code>&', hits: i })),
      topHosts: [{ host: '<i>'.repeat(5000), count: 1 }],
    };
    const messages = renderReport(report, { now: NOW, maxListedRanges: 100 });
    expectSendable(messages);
    expect(messages.join('\n')).toContain('<i>… and 49,902 more</i>');
  });

  it('a report of 150 added and 120 overflowing ranges, 100 listed: every part keeps its formatting (100 entities at most)', () => {
    const ranges = (n: number, second: number) => Array.from({ length: n }, (_, i) => `45.${second}.${i}.0/24`);
    const added = ranges(150, 33).map((range) => ({ range, source: 'rate-all', hits: 7 }));
    const overflow = { count: 120, sample: ranges(120, 90) };

    const messages = renderReport({ ...REPORT, added, overflow }, { now: NOW, maxListedRanges: 100 });

    expectSendable(messages);
    // Before, the second part carried 102 tags (Telegram shows the ones past the 100th as plain
    // text). Now it ends at 100 entities, well before the length limit, and the rest follows.
    expect(messages.map(telegramEntities)).toEqual([84, 100, 26]);
    expect(messages[1]?.length).toBeLessThan(3500);
    expect(messages[1]).toMatch(/\n• <code>45\.90\.78\.0\/24<\/code>$/);
    expect(messages[2]).toMatch(/^• <code>45\.90\.79\.0\/24<\/code>\n/);
    const shown = messages.join('\n');
    // Each list shows 98 ranges (with its heading and "and N more", 100 entities) and counts the rest.
    expect(shown.match(/^• <code>45\.33\.\d+\.0\/24<\/code> · rate-all · 7 hits$/gm)).toHaveLength(98);
    expect(shown).toContain(
      '• <code>45.33.97.0/24</code> · rate-all · 7 hits\n<i>… and 52 more</i>\n\n<b>Expired: 1</b>',
    );
    expect(shown.match(/^• <code>45\.90\.\d+\.0\/24<\/code>$/gm)).toHaveLength(98);
    expect(shown).toContain('• <code>45.90.97.0/24</code>\n<i>… and 22 more</i>\n\n<b>Most attacked hosts</b>');
  });

  it('an overflow of 3 with a 200-range sample lists 3 ranges, not 98', () => {
    const sample = Array.from({ length: 200 }, (_, i) => `45.90.${i}.0/24`);

    const messages = renderReport({ ...REPORT, overflow: { count: 3, sample } }, { now: NOW, maxListedRanges: 98 });

    expect(listShown(messages, 'Overflow')).toEqual({ total: 3, listed: 3, more: 0 });
    expect(messages.join('\n')).toContain('• <code>45.90.2.0/24</code>\n\n<b>Most attacked hosts</b>');
  });

  it('cuts a huge plain message and says how much is missing', () => {
    const body = 'line with <tags> & stuff\n'.repeat(10_000);
    const messages = renderPlain({ kind: 'plain', body, shape: 'text' });
    expectSendable(messages);
    const shown = messages.join('\n');
    expect(shown.match(/line with &lt;tags&gt; &amp; stuff/g)).toHaveLength(PLAIN_BODY_LIMIT.lines);
    expect(shown).toContain('more characters not shown');
  });
});

// ----------------------------------------------------------------------- block reports too long for 5 messages

/** Headings of a block report's lists, as rendered; the first group is the list's total. */
const LIST_HEADING = {
  Added: /^<b>Added: ([\d,?]+)<\/b>$/,
  Expired: /^<b>Expired: ([\d,?]+)<\/b>$/,
  Overflow: /^⚠️ <b>Overflow: ([\d,?]+)<\/b> ranges did not fit in their IP set/,
  'IP sets': /^<b>IP sets<\/b>$/,
} as const;

/**
 * What the messages show of one list: the total its heading states (the list's length when the
 * heading states none), how many entries are listed under it and how many its "… and N more"
 * counts (0 without one); undefined when the heading is not there. Parts are joined as the reader
 * sees them, one after the other.
 */
function listShown(
  messages: readonly string[],
  list: keyof typeof LIST_HEADING,
): { total: number | undefined; listed: number; more: number } | undefined {
  const lines = messages.join('\n').split('\n');
  const at = lines.findIndex((line) => LIST_HEADING[list].test(line));
  if (at < 0) return undefined;
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value.replace(/,/g, '')));
  let listed = 0;
  while (lines[at + 1 + listed]?.startsWith('• ')) listed += 1;
  const more = /^<i>… and ([\d,?]+) more<\/i>$/.exec(lines[at + 1 + listed] ?? '')?.[1];
  return { total: number(LIST_HEADING[list].exec(lines[at] ?? '')?.[1]), listed, more: number(more) ?? 0 };
}

describe('a block report longer than 5 messages', () => {
  const ipv6 = (n: number, block: number) =>
    Array.from({ length: n }, (_, i) => `2001:db8:${block.toString(16)}:${i.toString(16)}::/64`);
  const hugeReport = (n: number, source: string): BlockReport => ({
    ...REPORT,
    added: ipv6(n, 0xa).map((range) => ({ range, source, hits: 12_345 })),
    expired: ipv6(n, 0xb).map((range) => ({ range, source, lastSeen: '2025-03-13T22:00:00.000Z' })),
    overflow: { count: n, sample: ipv6(n, 0xc) },
  });
  // The ban feed's longest source name.
  const feedSource = 'fail2ban-'.padEnd(64, 'x');
  const hostileSource = '<&>"'.repeat(16);

  it('80 added, 80 expired and 80 overflowing /64s from a 64-character source: shorter lists, every section kept', () => {
    const messages = renderReport(hugeReport(80, feedSource), { now: NOW, maxListedRanges: 98 });

    expectSendable(messages);
    const shown = messages.join('\n');
    expect(shown).not.toContain('left out');
    for (const list of ['Added', 'Expired', 'Overflow'] as const) {
      const { total, listed, more } = listShown(messages, list) ?? { listed: 0, more: 0 };
      expect(total).toBe(80);
      expect(listed + more).toBe(80);
      // The lists share the room evenly, and it is most of five messages.
      expect(listed).toBeGreaterThan(40);
      expect(listed).toBe(listShown(messages, 'Added')?.listed);
    }
    expect(listShown(messages, 'IP sets')).toEqual({ total: undefined, listed: 2, more: 0 });
    expect(shown).toMatch(/\n<b>Most attacked hosts<\/b>\n1\. <code>shop\.example\.com<\/code> · 97\n/);
    expect(shown).toMatch(/\n<b>Addresses not blocked:<\/b> allowlisted 1, non-global 3$/);
  });

  it.each([
    [97, feedSource],
    [98, feedSource],
    [120, feedSource],
    [80, hostileSource],
    [400, hostileSource],
    [5_000, feedSource],
  ])('%i ranges per list from source %j: every heading, and every list says how many it left out', (n, source) => {
    const messages = renderReport(hugeReport(n, source), { now: NOW, maxListedRanges: 98 });

    expectSendable(messages);
    expect(messages.join('\n')).not.toContain('left out');
    for (const list of ['Added', 'Expired', 'Overflow'] as const) {
      const shown = listShown(messages, list);
      expect(shown?.total).toBe(n);
      expect((shown?.listed ?? 0) + (shown?.more ?? 0)).toBe(n);
    }
    expect(listShown(messages, 'IP sets')?.listed).toBe(2);
  });

  it('a report whose every text is as long and as escaped as it can be still shows every heading and total', () => {
    const worst = '"'.repeat(1_000);
    const report: BlockReport = {
      ...REPORT,
      webAclName: worst,
      dryRun: true,
      collected: false,
      added: Array.from({ length: 300 }, (_, i) => ({ range: `${i}${worst}`, source: worst, hits: i })),
      expired: Array.from({ length: 300 }, () => ({ range: worst, source: worst, lastSeen: worst })),
      overflow: { count: 9_000, sample: Array.from({ length: 300 }, () => worst) },
      topHosts: Array.from({ length: 5 }, () => ({ host: worst, count: 1 })),
      ipSets: Array.from({ length: 40 }, () => ({ name: worst, family: 'IPV6' as const, size: 1, capacity: 2 })),
      rejectedKeys: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`${i}${worst}`, 1])),
      unreadableRules: Array.from({ length: 30 }, () => worst),
    };

    const messages = renderReport(report, { now: NOW, maxListedRanges: 98 });

    expectSendable(messages);
    const shown = messages.join('\n');
    expect(shown).not.toContain('left out');
    for (const [list, total] of [
      ['Added', 300],
      ['Expired', 300],
      ['Overflow', 9_000],
    ] as const) {
      const { listed, more } = listShown(messages, list) ?? { listed: 0, more: 0 };
      expect(listed + more).toBe(total);
    }
    const ipSets = listShown(messages, 'IP sets');
    expect((ipSets?.listed ?? 0) + (ipSets?.more ?? 0)).toBe(40);
    expect(shown).toContain('<b>Most attacked hosts</b>');
    expect(shown).toContain('<b>Addresses not blocked:</b>');
    expect(shown).toContain('<b>Rules not read this run:</b>');
  });
});

describe('a block report fitted to one SNS message', () => {
  it('of 10,000 added and 10,000 expired ranges reads as today: the same totals and "… and 9,980 more", the most active listed', () => {
    const full = attackReport(10_000, 10_000);
    const fitted = fitReport(full);
    expect(fitted.added.length).toBeLessThan(10_000);

    const messages = renderReport(fitted, { now: ATTACK_AT });
    const today = renderReport(full, { now: ATTACK_AT });

    expectSendable(messages);
    for (const list of ['Added', 'Expired', 'Overflow', 'IP sets'] as const) {
      expect(listShown(messages, list)).toEqual(listShown(today, list));
    }
    expect(listShown(messages, 'Added')).toEqual({ total: 10_000, listed: 20, more: 9_980 });
    const shown = messages.join('\n');
    expect(shown).toContain(`🛡 <b>Blocklist updated</b> · web ACL <code>waf-autoblock-WebAcl</code>
Run at 2026-11-30 23:00 UTC

<b>Added: 10,000</b>
• <code>62.3.228.0/24</code> · RateLimitPerIp · 1,096 hits
• <code>62.7.201.0/24</code> · RateLimitPerIp · 1,096 hits
`);
    expect(shown).toContain(`• <code>62.38.240.0/24</code> · RateLimitPerIp · 1,095 hits
<i>… and 9,980 more</i>

<b>Expired: 10,000</b>
• <code>100.39.15.0/24</code> · RateLimitPerIp · last seen 2026-11-30 21:46 UTC
`);
  });

  it('that carries the reports of two earlier runs SNS refused: over which runs, everything they changed, summed', () => {
    const earlier: BlockReport = {
      ...REPORT,
      at: new Date(NOW - 10 * MINUTE).toISOString(),
      added: [{ range: '45.142.120.0/24', source: 'rate-all', hits: 40 }],
      expired: [],
      rejectedKeys: { allowlisted: 2 },
      topHosts: [
        { host: 'api.example.com', count: 150 },
        { host: 'shop.example.com', count: 3 },
      ],
    };
    const middle: BlockReport = {
      ...REPORT,
      at: new Date(NOW - 5 * MINUTE).toISOString(),
      added: [],
      expired: [
        { range: '203.0.113.0/24', source: 'rate-login', lastSeen: new Date(NOW - 245 * MINUTE).toISOString() },
      ],
      rejectedKeys: {},
      topHosts: [],
    };
    // As the blocker keeps it: merged and fitted after each failed publish, then merged with the run that succeeds.
    const pending = fitReport(mergeReports(fitReport(earlier), middle));

    expect(renderReport(fitReport(mergeReports(pending, REPORT)), { now: NOW })).toEqual([
      `🛡 <b>Blocklist updated</b> · web ACL <code>WafAutoblock-web-acl</code>
3 runs from 2025-03-14 02:50 UTC to 2025-03-14 03:00 UTC: <i>the earlier runs could not publish their reports, so this one says what they changed too.</i>

<b>Added: 3</b>
• <code>45.142.120.0/24</code> · rate-all · 40 hits
• <code>198.51.100.0/24</code> · rate-all · 2 hits
• <code>2001:db8:4:5::/64</code> · rate-login · 1 hit

<b>Expired: 2</b>
• <code>203.0.113.0/24</code> · rate-login · last seen 2025-03-13 22:55 UTC
• <code>192.0.2.0/24</code> · rate-all · last seen 2025-03-13 22:00 UTC

<b>Most attacked hosts</b>
1. <code>api.example.com</code> · 150
2. <code>shop.example.com</code> · 100

<b>IP sets</b>
• <code>WafAutoblock-blocklist-ipv4</code> 37 / 10,000 (IPv4)
• <code>WafAutoblock-blocklist-ipv6</code> 4 / 10,000 (IPv6)
<b>Addresses not blocked:</b> allowlisted 3, non-global 3`,
    ]);
  });

  it('of two 10,000-range runs, the first refused: the totals of both runs, each list cut with "… and N more"', () => {
    const first = attackReport(10_000, 0, ATTACK_AT - 5 * MINUTE);
    const second = attackReport(0, 10_000);
    const messages = renderReport(fitReport(mergeReports(fitReport(first), second)), { now: ATTACK_AT });

    expectSendable(messages);
    const shown = messages.join('\n');
    expect(shown).toContain(
      '2 runs from 2026-11-30 22:55 UTC to 2026-11-30 23:00 UTC: <i>the earlier runs could not publish their reports',
    );
    expect(listShown(messages, 'Added')).toEqual({ total: 10_000, listed: 20, more: 9_980 });
    expect(listShown(messages, 'Expired')).toEqual({ total: 10_000, listed: 20, more: 9_980 });
  });

  it('counts from a version 2 total that is larger than its list, never from the list alone', () => {
    const report = { ...fitReport(REPORT), addedCount: 2_982, expiredCount: 1 };
    const [message] = renderReport(report, { now: NOW });
    expect(message).toContain(`<b>Added: 2,982</b>
• <code>198.51.100.0/24</code> · rate-all · 2 hits
• <code>2001:db8:4:5::/64</code> · rate-login · 1 hit
<i>… and 2,980 more</i>`);
    expect(message).toContain('<b>Expired: 1</b>\n• <code>192.0.2.0/24</code>');
  });
});

// ------------------------------------------------------------------------------- any input at all

const count = fc.oneof(fc.nat(), fc.double({ noNaN: false }), fc.constant(Number.MAX_SAFE_INTEGER));
const entries: fc.Arbitrary<TopEntry[]> = fc.array(fc.record({ key: hostileText, count }), { maxLength: 8 });
const gathered = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<Gathered<T>> =>
  fc.oneof(
    value.map((v) => ({ ok: true as const, value: v })),
    hostileText.map((reason) => ({ ok: false as const, reason })),
  );
const time = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constant(Number.NaN));

const alarmNotice: fc.Arbitrary<AlarmNotice> = fc.record(
  {
    kind: fc.constant('alarm' as const),
    alarmName: hostileText,
    newState: hostileText,
    oldState: hostileText,
    reason: hostileText,
    description: hostileText,
    changedAt: time,
  },
  { requiredKeys: ['kind', 'alarmName', 'newState'] },
);

const figures = fc.record(
  { id: hostileText, label: hostileText, requests: count, errorRate5xx: count, errorRateTotal: count },
  { requiredKeys: ['id', 'label', 'requests'] },
);

const attackSummary: fc.Arbitrary<AttackSummary> = fc.record(
  {
    windowMinutes: count,
    top: fc.record({
      hosts: gathered(entries),
      clientIps: gathered(entries),
      countries: gathered(entries),
      rules: gathered(entries),
    }),
    cloudfront: gathered(
      fc.record({
        distributions: count,
        byRequests: fc.array(figures, { maxLength: 4 }),
        byErrorRate: fc.array(figures, { maxLength: 4 }),
      }),
    ),
    blocked: gathered(fc.record({ ipv4: count, ipv6: count })),
  },
  { requiredKeys: ['windowMinutes', 'top', 'blocked'] },
);

const allClear: fc.Arbitrary<AllClearSummary> = fc.record({
  alarmStartedAt: gathered(fc.option(time, { nil: undefined })),
  blocked: gathered(fc.record({ ipv4: count, ipv6: count })),
  managed: gathered(
    fc.record({
      count,
      next: fc.array(fc.record({ range: hostileText, expiresAt: time }), { maxLength: 8 }),
    }),
  ),
});

/** What a report holds as a range: usually a short CIDR, sometimes anything at all. */
const rangeText = fc.oneof(
  { weight: 3, arbitrary: fc.ipV4().map((ip) => `${ip}/24`) },
  { weight: 1, arbitrary: hostileText },
);

const report: fc.Arbitrary<BlockReport> = fc.record({
  kind: fc.constant(BLOCK_REPORT_KIND),
  version: fc.constant(1 as const),
  at: hostileText,
  webAclName: hostileText,
  dryRun: fc.boolean(),
  collected: fc.boolean(),
  // Lists long enough, and lines short enough, for a message to hold more than 100 entities.
  added: fc.array(fc.record({ range: rangeText, source: hostileText, hits: count }), { maxLength: 150, size: 'max' }),
  expired: fc.array(fc.record({ range: rangeText, source: hostileText, lastSeen: hostileText }), {
    maxLength: 60,
    size: 'max',
  }),
  overflow: fc.record({ count, sample: fc.array(rangeText, { maxLength: 120, size: 'max' }) }),
  ipSets: fc.array(
    fc.record({
      name: hostileText,
      family: fc.constantFrom('IPV4' as const, 'IPV6' as const),
      size: count,
      capacity: count,
    }),
    { maxLength: 3 },
  ),
  topHosts: fc.array(fc.record({ host: hostileText, count }), { maxLength: 8 }),
  rejectedKeys: fc.dictionary(hostileText, count, { maxKeys: 12 }),
  unreadableRules: fc.array(hostileText, { maxLength: 12 }),
});

const plainNotice: fc.Arbitrary<PlainNotice> = fc.record(
  {
    kind: fc.constant('plain' as const),
    subject: hostileText,
    body: fc.oneof(hostileText, fc.string({ unit: 'binary', minLength: 2_000, maxLength: 20_000 })),
    shape: fc.constantFrom('text' as const, 'json' as const, 'empty' as const),
    topicName: hostileText,
  },
  { requiredKeys: ['kind', 'body', 'shape'] },
);

describe('any input', () => {
  const settings = { numRuns: 150 };

  it('renders an ALARM into well-formed Telegram HTML of at most 4,096 characters and 100 entities per message', () => {
    fc.assert(
      fc.property(alarmNotice, attackSummary, (notice, summary) => {
        expectSendable(renderAlarm(notice, summary));
      }),
      settings,
    );
  });

  it('renders an OK and any other state the same way', () => {
    fc.assert(
      fc.property(alarmNotice, allClear, time, (notice, summary, now) => {
        expectSendable(renderAllClear(notice, summary, { now }));
        expectSendable(renderAlarmState(notice));
      }),
      settings,
    );
  });

  it('renders a block report the same way, whatever maxListedRanges, with every section and every list counted in full', () => {
    fc.assert(
      fc.property(report, fc.integer({ min: -5, max: 200 }), time, (value, maxListedRanges, now) => {
        const messages = renderReport(value, { now, maxListedRanges });

        expectSendable(messages);
        const shown = messages.join('\n');
        expect(shown).not.toContain('left out');
        expect(shown).toMatch(/^🛡 <b>Blocklist updated<\/b>/);
        const overflow = Math.round(value.overflow.count);
        const lists = [
          ['Added', value.added.length],
          ['Expired', value.expired.length],
          ['Overflow', overflow > 0 ? overflow : 0],
          ['IP sets', value.ipSets.length],
        ] as const;
        for (const [list, total] of lists) {
          const seen = listShown(messages, list);
          if (total === 0) {
            expect(seen).toBeUndefined();
            continue;
          }
          expect(seen).toBeDefined();
          if (list !== 'IP sets') expect(seen?.total).toBe(Number.isFinite(total) ? total : Number.NaN);
          if (list !== 'IP sets')
            expect(seen?.listed).toBeLessThanOrEqual(Math.min(maxListedRanges > 0 ? maxListedRanges : 20, 98));
          // Beyond 2^53 a count is not exact in a double (the generator draws such counts; a real
          // report holds at most 50,000 per list), and listed + more need not add up to it exactly.
          if (Number.isSafeInteger(total)) expect((seen?.listed ?? 0) + (seen?.more ?? 0)).toBe(total);
        }
        expect(listShown(messages, 'Overflow')?.listed ?? 0).toBeLessThanOrEqual(value.overflow.sample.length);
        const has = (heading: string) => shown.includes(heading);
        expect(has('<b>Most attacked hosts</b>')).toBe(value.topHosts.length > 0);
        expect(has('<b>Addresses not blocked:</b>')).toBe(Object.values(value.rejectedKeys).some((n) => n > 0));
        expect(has('<b>Rules not read this run:</b>')).toBe(value.unreadableRules.length > 0);
      }),
      // A failing report of hundreds of ranges takes many minutes to shrink in full: stop shrinking
      // after 30 s and report the smallest found (the property still fails; a passing run takes 1-3 s).
      { ...settings, interruptAfterTimeLimit: 30_000 },
    );
  });

  it('renders any plain notification the same way', () => {
    fc.assert(
      fc.property(plainNotice, (notice) => {
        expectSendable(renderPlain(notice));
      }),
      settings,
    );
  });
});

describe('a block report of a deployment with a neighbour tier (issue 12)', () => {
  it('says which ranges are in the neighbour tier rather than blocked, added or expired, also after the notifier reads the report', () => {
    const report: BlockReport = {
      ...REPORT,
      added: [
        { range: '45.33.12.7/32', source: 'rate-all', hits: 3 },
        { range: '45.33.12.0/24', source: 'rate-all', hits: 3, tier: 'neighbour' },
      ],
      expired: [{ range: '185.220.101.0/24', source: 'rate-all', lastSeen: REPORT.at, tier: 'neighbour' }],
    };
    const [message] = renderReport(normalizeReport(JSON.parse(JSON.stringify(report))) ?? report, { now: NOW });
    expect(message).toContain('• <code>45.33.12.7/32</code> · rate-all · 3 hits\n');
    // Not "challenged": a CAPTCHA stack's report reads the same, and the report does not say which.
    expect(message).toContain(
      '• <code>45.33.12.0/24</code> · rate-all · 3 hits · neighbour tier (challenge or CAPTCHA)\n',
    );
    expect(message).toMatch(
      /• <code>185\.220\.101\.0\/24<\/code> · rate-all · last seen [^\n]+ · neighbour tier \(challenge or CAPTCHA\)/,
    );
    expect(message).not.toContain('challenged');
  });
});
