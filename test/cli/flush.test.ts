/** `flush` against the WAF emulator and dynalite, and the terminal prompt it asks with. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { terminalConfirm } from '../../cli/confirm';
import { UsageError } from '../../cli/errors';
import { FOREIGN, RANGE, ledgerEntry } from '../support/blocker-fixtures';
import { deploy, reports, type TestDeployment, useServers } from './support';

const servers = useServers();

/** Three managed ranges in the sets, one of them in a shared set too, and one that was in the blocklist before. */
async function blocking(): Promise<TestDeployment> {
  const deployment = await deploy(servers(), { shared: [{ family: 'IPV4', addresses: ['203.0.113.0/24'] }] });
  // Compared with the shared set when it was first read (sharedSeen): ours there unless it held them.
  const sharedSeen = deployment.sharedArns;
  await deployment.ledger.upsert([
    ledgerEntry(RANGE.linode, { sharedSeen }),
    ledgerEntry(RANGE.scanner6),
    ledgerEntry(FOREIGN.IPV4, { preexisting: true, sharedSeen }),
  ]);
  servers().waf.setAddresses(deployment.blocklist.IPV4, [FOREIGN.IPV4, RANGE.linode]);
  servers().waf.setAddresses(deployment.blocklist.IPV6, [FOREIGN.IPV6, RANGE.scanner6]);
  servers().waf.setAddresses(deployment.shared[0]!, ['203.0.113.0/24', RANGE.linode, FOREIGN.IPV4]);
  return deployment;
}

/** The deployment's sets as flush names them: the blocklists, then the shared set with its region. */
function setNames(deployment: TestDeployment): string[] {
  const arn = deployment.sharedArns[0] ?? '';
  return [
    deployment.environment.BLOCKLIST_IPV4?.split('|')[0] ?? '',
    deployment.environment.BLOCKLIST_IPV6?.split('|')[0] ?? '',
    `${arn.split('/').at(-2)} (${arn.split(':')[3]})`,
  ];
}

describe('waf-autoblock flush', () => {
  it('asks first, then removes every managed range from every set and keeps the foreign entries', async () => {
    const deployment = await blocking();
    const questions: string[] = [];
    const confirm = (question: string) => {
      questions.push(question);
      return Promise.resolve(true);
    };

    const { code, stdout, stderr } = await deployment.runWith({ confirm }, 'flush');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(questions).toEqual([
      expect.stringMatching(
        /^Remove 3 managed ranges from blocklist-v4-\d+, blocklist-v6-\d+, shared-0-\d+ \(us-east-1\)\? Foreign entries are kept\. \[y\/N\]$/,
      ),
    ]);
    const [v4, v6, shared] = setNames(deployment);
    expect(stdout).toBe(
      `Flushed: 2 ranges removed from ${v4}, ${v6}, ${shared}; foreign entries kept.\n` +
        '  1 range released: no longer managed, but the entries stay where they were before waf-autoblock blocked them; ' +
        `removed from ${shared}, where waf-autoblock had put them.\n`,
    );
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4]);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV6)).toEqual([FOREIGN.IPV6]);
    // In the shared set nobody had put the preexisting range before us: it was ours there, and goes.
    expect(servers().waf.getAddresses(deployment.shared[0]!)).toEqual(['203.0.113.0/24']);
    expect(await deployment.ledger.activeEntries('IPV4')).toEqual([]);
    expect(await deployment.ledger.activeEntries('IPV6')).toEqual([]);
    expect(reports()).toHaveLength(1);
  });

  it('names a range someone had already taken out of its set, and claims no removal for it', async () => {
    const deployment = await blocking();
    // Removed by hand: the IPv6 range is in no set now.
    servers().waf.setAddresses(deployment.blocklist.IPV6, [FOREIGN.IPV6]);
    const callsBefore = servers().waf.calls.length;

    const { code, stdout, stderr } = await deployment.run('flush', '--yes');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [v4, v6, shared] = setNames(deployment);
    expect(stdout).toBe(
      `Flushed: 1 range removed from ${v4}, ${shared}; foreign entries kept.\n` +
        '  1 range released: no longer managed, but the entries stay where they were before waf-autoblock blocked them; ' +
        `removed from ${shared}, where waf-autoblock had put them.\n` +
        '  1 range already absent from a set waf-autoblock had put it in (removed by hand or by another tool), ' +
        `so nothing was removed there: ${RANGE.scanner6} (${v6}).\n`,
    );
    // The IPv6 blocklist had nothing to lose: it was not written.
    const written = servers()
      .waf.calls.slice(callsBefore)
      .filter((call) => call.operation === 'UpdateIPSet')
      .map((call) => call.body.Id);
    expect(written).not.toContain(deployment.blocklist.IPV6);
    expect(written).toContain(deployment.blocklist.IPV4);
    expect(await deployment.ledger.activeEntries('IPV6')).toEqual([]);
  });

  it('removes nothing when the answer is no, and exits 1', async () => {
    const deployment = await blocking();

    const { code, stderr } = await deployment.runWith({ confirm: () => Promise.resolve(false) }, 'flush');

    expect(code).toBe(1);
    expect(stderr).toBe('waf-autoblock flush: not confirmed: nothing was removed\n');
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode]);
    expect(await deployment.ledger.activeEntries('IPV4')).toHaveLength(2);
  });

  it('does not ask with --yes', async () => {
    const deployment = await blocking();
    const confirm = () => Promise.reject(new Error('asked although --yes was given'));

    const { code, stdout } = await deployment.runWith({ confirm }, 'flush', '--yes');

    expect(code).toBe(0);
    expect(stdout).toMatch(/^Flushed: 2 ranges removed/);
    expect(servers().waf.getAddresses(deployment.blocklist.IPV6)).toEqual([FOREIGN.IPV6]);
  });

  it('says there is nothing to flush, without asking, when nothing is managed', async () => {
    const deployment = await deploy(servers());
    const confirm = () => Promise.reject(new Error('asked with nothing to flush'));

    const { code, stdout } = await deployment.runWith({ confirm }, 'flush');

    expect(code).toBe(0);
    expect(stdout).toBe('Nothing to flush: waf-autoblock blocks no range.\n');
    expect(reports()).toEqual([]);
  });

  it('exits 2, telling to pass --yes, when there is no terminal to ask on', async () => {
    const deployment = await blocking();
    const notATerminal = terminalConfirm(
      Object.assign(new PassThrough(), { isTTY: false }),
      new PassThrough(),
      '--yes',
    );

    const { code, stderr } = await deployment.runWith({ confirm: notATerminal }, 'flush');

    expect(code).toBe(2);
    expect(stderr).toContain('stdin is not a terminal');
    expect(stderr).toContain('pass --yes to go ahead');
    expect(servers().waf.getAddresses(deployment.blocklist.IPV4)).toEqual([FOREIGN.IPV4, RANGE.linode]);
  });
});

describe('terminalConfirm', () => {
  function terminal(answer: string) {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    let shown = '';
    output.on('data', (chunk: Buffer) => (shown += chunk.toString()));
    input.end(answer);
    return { confirm: terminalConfirm(input, output, '--yes'), shown: () => shown };
  }

  it.each([
    ['y\n', true],
    ['YES\n', true],
    [' yes \n', true],
    ['\n', false],
    ['n\n', false],
    ['yep\n', false],
  ])('reads %j as %s, after showing the question', async (answer, expected) => {
    const { confirm, shown } = terminal(answer);

    expect(await confirm('Remove 3 managed ranges? [y/N]')).toBe(expected);
    expect(shown()).toBe('Remove 3 managed ranges? [y/N] ');
  });

  it('refuses with a UsageError naming the flag when stdin is not a terminal', async () => {
    const confirm = terminalConfirm(new PassThrough(), new PassThrough(), '--yes');

    await expect(confirm('Remove?')).rejects.toThrow(UsageError);
    await expect(confirm('Remove?')).rejects.toThrow('pass --yes to go ahead');
  });
});
