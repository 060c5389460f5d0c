/**
 * Replay of label-scoped rate rules (issue 12, part 2): a record counts toward a rule with
 * `labels` only if its `labels[].name` holds one of them, as the deployed label match counts only
 * requests an earlier rule labelled; records without any label are reported, since the log cannot
 * tell whether the labelling group would have flagged them.
 */
import { describe, expect, it } from 'vitest';
import { RateSimulator } from '../../cli/replay/simulator';
import { parseWafRecord } from '../../cli/replay/waf-log';
import { runCli } from '../support/cli-io';
import { fixtureDir } from '../support/fixture-dir';
import { jsonLines, loginRecord, T0 } from '../support/replay-records';

const { file } = fixtureDir('replay-labels-');

const HIGH = 'awswaf:managed:aws:anti-ddos:high-suspicion-ddos-request';
const MEDIUM = 'awswaf:managed:aws:anti-ddos:medium-suspicion-ddos-request';
const EVENT = 'awswaf:managed:aws:anti-ddos:event-detected';

/** A record of `clientIp` at `offsetMs` carrying `labels` as WAF logs them (`[{ name }]`). */
function labelled(clientIp: string, offsetMs: number, labels: readonly string[] | undefined) {
  const record = loginRecord(clientIp, T0 + offsetMs, { uri: '/' });
  return labels === undefined ? record : { ...record, labels: labels.map((name) => ({ name })) };
}

describe('labels in WAF log records', () => {
  it('reads labels[].name; absent, null and [] are no labels', () => {
    const line = JSON.stringify(labelled('45.33.12.7', 0, [EVENT, HIGH]));
    expect(parseWafRecord(line)?.labels).toEqual([EVENT, HIGH]);
    expect(parseWafRecord(JSON.stringify(labelled('45.33.12.7', 0, undefined)))?.labels).toBeUndefined();
    for (const labels of [null, []]) {
      const parsed = parseWafRecord(JSON.stringify({ ...labelled('45.33.12.7', 0, undefined), labels }));
      expect(parsed?.labelsMalformed).toBeUndefined();
      expect(parsed?.labels ?? []).toEqual([]);
    }
  });

  it.each([
    ['an object', { name: HIGH }],
    ['a string', HIGH],
    ['a list with a non-object entry', [{ name: EVENT }, 7]],
    ['a list with an entry whose name is no text', [{ name: EVENT }, { name: 7 }]],
    ['a list with an entry without a name', [{ name: EVENT }, {}]],
  ])('labels that are %s are malformed, not "no labels"', (_what, labels) => {
    const parsed = parseWafRecord(JSON.stringify({ ...labelled('45.33.12.7', 0, undefined), labels }));
    expect(parsed?.labelsMalformed).toBe(true);
    expect(parsed?.labels).toBeUndefined();
  });
});

describe('RateSimulator with a label-scoped rule', () => {
  const rule = {
    name: 'ddos-high',
    limit: 10,
    windowSeconds: 60,
    aggregateKey: 'IP' as const,
    forwardedIpHeader: '',
    labels: [HIGH, MEDIUM],
  };

  it('counts only records carrying one of the labels (ORed), and tallies those without any label', () => {
    const simulator = new RateSimulator([rule]);
    const records = [
      // 11 flagged requests of one client, high or medium: over the limit of 10.
      ...Array.from({ length: 11 }, (_, i) => labelled('45.33.12.7', i * 100, [EVENT, i % 2 === 0 ? HIGH : MEDIUM])),
      // 20 of another client during the event but not flagged: not counted.
      ...Array.from({ length: 20 }, (_, i) => labelled('45.33.50.9', i * 10, [EVENT])),
      // 15 of a third without labels (ended by the blocklist before the group ran): not counted, reported.
      ...Array.from({ length: 15 }, (_, i) => labelled('45.33.60.1', i * 10, i % 3 === 0 ? [] : undefined)),
    ];
    for (const record of records) {
      const parsed = parseWafRecord(JSON.stringify(record));
      if (parsed) simulator.observe(parsed);
    }
    expect(simulator.limitedKeys().map((key) => key.key)).toEqual(['45.33.12.7/32']);
    expect(simulator.tallies()[0]).toMatchObject({ counted: 11, unlabelled: 15 });
  });
});

describe('waf-autoblock replay with a label-scoped rule', () => {
  const config = file(
    'labels.json',
    JSON.stringify({
      managedRuleGroups: ['AWSManagedRulesAntiDDoSRuleSet'],
      rateRules: [{ name: 'ddos-high', limit: 10, windowSeconds: 60, labels: [HIGH] }],
    }),
  );

  it('blocks the client whose flagged requests cross the limit, names the label, and says what it could not count', async () => {
    const records = [
      ...Array.from({ length: 12 }, (_, i) => labelled('45.33.12.7', i * 100, [EVENT, HIGH])),
      ...Array.from({ length: 30 }, (_, i) => labelled('45.33.50.9', i * 10, [EVENT])),
      ...Array.from({ length: 3 }, (_, i) => labelled('45.33.60.1', i * 10, undefined)),
    ];
    const { code, stdout, stderr } = await runCli([
      'replay',
      file('event.jsonl', jsonLines(records)),
      '--config',
      config,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(`only requests labelled "${HIGH}"`);
    expect(stdout).toMatch(/^45\.33\.12\.0\/24\s+\S+\s+ddos-high\s+1\s+12\s+2$/m);
    expect(stdout).not.toContain('45.33.50.0/24');
    expect(stderr).toContain('rule ddos-high: 3 records in scope carried no labels at all');
  });

  it('records whose labels cannot be read are reported apart, not blamed on the blocklist', async () => {
    const records = [
      ...Array.from({ length: 12 }, (_, i) => labelled('45.33.12.7', i * 100, [EVENT, HIGH])),
      { ...labelled('45.33.70.1', 10, undefined), labels: { name: HIGH } },
      { ...labelled('45.33.70.2', 20, undefined), labels: HIGH },
      { ...labelled('45.33.70.3', 30, undefined), labels: [{ name: 7 }] },
      { ...labelled('45.33.70.4', 40, undefined), labels: null },
    ];
    const { code, stdout, stderr } = await runCli([
      'replay',
      file('malformed.jsonl', jsonLines(records)),
      '--config',
      config,
      '--format',
      'json',
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain('rule ddos-high: 3 records in scope had a labels field that is not a list');
    expect(stderr).toContain('rule ddos-high: 1 record in scope carried no labels at all');
    const { tallies } = JSON.parse(stdout) as { tallies: { malformedLabels: number; unlabelled: number }[] };
    expect(tallies[0]).toMatchObject({ counted: 12, malformedLabels: 3, unlabelled: 1 });
  });

  it('a log without labels blocks nobody for the rule, and says why', async () => {
    const records = Array.from({ length: 12 }, (_, i) => labelled('45.33.12.7', i * 100, undefined));
    const { code, stdout, stderr } = await runCli([
      'replay',
      file('plain.jsonl', jsonLines(records)),
      '--config',
      config,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('No range would have been blocked.');
    expect(stderr).toContain('12 records in scope carried no labels at all');
  });
});

describe('waf-autoblock replay of records the Anti-DDoS group ended itself', () => {
  const config = file(
    'group-first.json',
    JSON.stringify({
      managedRuleGroups: ['AWSManagedRulesAntiDDoSRuleSet'],
      rateRules: [
        { name: 'ddos-medium', limit: 10, windowSeconds: 60, labels: [MEDIUM] },
        { name: 'rate-all', limit: 10, windowSeconds: 60 },
      ],
    }),
  );
  /** A record that `terminatingRuleId` ended with `action`. */
  const endedBy = (record: object, terminatingRuleId: string, action: string) => ({
    ...record,
    terminatingRuleId,
    action,
  });

  it('leaves them out of every rate rule, says how many on stderr and in the JSON, and keeps blocklist records as before', async () => {
    const records = [
      // 12 flagged requests: 7 passed the group, 5 got its challenge, which ended them before the rate rules.
      ...Array.from({ length: 12 }, (_, i) => {
        const record = labelled('45.33.12.7', i * 100, [EVENT, MEDIUM]);
        return i < 5 ? endedBy(record, 'AWSManagedRulesAntiDDoSRuleSet', 'CHALLENGE') : record;
      }),
      // 12 requests the group blocked outright: no rate rule counts them, flagged or not.
      ...Array.from({ length: 12 }, (_, i) =>
        endedBy(labelled('45.33.80.1', i * 50, [EVENT, HIGH]), 'AWSManagedRulesAntiDDoSRuleSet', 'BLOCK'),
      ),
      // 2 the blocklist ended: no labels, counted by rate-all and reported for ddos-medium, as before.
      ...Array.from({ length: 2 }, (_, i) =>
        endedBy(labelled('45.33.90.1', i * 10, undefined), 'blocklist-ipv4', 'BLOCK'),
      ),
    ];
    const { code, stdout, stderr } = await runCli([
      'replay',
      file('group-ended.jsonl', jsonLines(records)),
      '--config',
      config,
      '--format',
      'json',
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain(
      "left 17 records out of every rate rule's count: AWSManagedRulesAntiDDoSRuleSet ended them itself",
    );
    expect(stderr).toContain('rule ddos-medium: 2 records in scope carried no labels at all');
    const json = JSON.parse(stdout) as {
      summary: { endedByGroup: number; ranges: number };
      tallies: { rule: string; counted: number }[];
    };
    expect(json.summary).toMatchObject({ endedByGroup: 17, ranges: 0 });
    expect(json.tallies.map(({ rule, counted }) => [rule, counted])).toEqual([
      ['ddos-medium', 7],
      ['rate-all', 9],
    ]);
  });
});
