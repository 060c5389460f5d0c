/**
 * Items of a JSON array that are not records (issue 10, second round, finding 7): each is counted
 * and reported as malformed, as a malformed line is, instead of being dropped without a word; a
 * deeply nested item neither crashes replay nor is read as a record.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-io';
import { fixtureDir } from '../support/fixture-dir';
import { BLOCKED_ROW, FLOOD, TEN_PER_MINUTE_CONFIG } from '../support/replay-records';

const { file } = fixtureDir('replay-json-items-');
const TEN_PER_MINUTE = file('ten-per-minute.json', JSON.stringify(TEN_PER_MINUTE_CONFIG));

describe('replay of a JSON array with items that are not records', () => {
  it('counts [1,2,3] and "text" before the records as malformed entries', async () => {
    const text = `[\n[1,2,3],\n"text",\n42,\n${FLOOD.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`;
    const path = file('items.json', text);
    const { code, stdout, stderr } = await runCli(['replay', path, '--config', TEN_PER_MINUTE]);
    expect(code).toBe(0);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toMatch(/^waf-autoblock replay: warning: skipped 3 malformed (lines|entries) of \S+: /);
    expect(stderr).toContain('2, 3 and 4');
  });

  it('counts an item of 1,000,000 nested "[" as malformed, without crashing', async () => {
    const text = `[\n${'['.repeat(1_000_000)}${']'.repeat(1_000_000)},\n${FLOOD.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`;
    const path = file('nested.json', text);
    const { code, stdout, stderr } = await runCli(['replay', path, '--config', TEN_PER_MINUTE]);
    expect(code).toBe(0);
    expect(stdout).toMatch(BLOCKED_ROW);
    expect(stderr).toMatch(/^waf-autoblock replay: warning: skipped 1 malformed (line|entry) of \S+: .*\(line 2\b/);
  });
});
