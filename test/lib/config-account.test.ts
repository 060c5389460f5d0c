import { readFileSync } from 'node:fs';
import { App, Token } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp, type CliEnvironment } from '../../bin/build-app';
import { parseConfig } from '#config/load';
import { configErrorFrom, configErrorOf } from '../support/config-errors';

const OURS = '123456789012';
const THEIRS = '210987654321';
const setIn = (account: string) =>
  `arn:aws:wafv2:eu-west-1:${account}:regional/ipset/api-blocklist/0a1b2c3d-1111-2222-3333-444455556666`;

/** Builds the app as bin/app.ts does, with cdk.json's context plus `extra`, without bundling the Lambdas. */
function build(extra: Record<string, unknown>, cli: CliEnvironment) {
  const { context } = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };
  const app = new App({ context: { ...context, ...extra, 'aws:cdk:bundling-stacks': [] } });
  return buildApp(app, cli);
}

describe('blocker.sharedIpSets of another account', () => {
  it('with account set: refused at config time naming the entry and both accounts', () => {
    const message = configErrorOf(
      { account: OURS, blocker: { sharedIpSets: [setIn(OURS), setIn(THEIRS)] } },
      'blocker.sharedIpSets[1]',
    );
    expect(message).toContain(
      `belongs to account ${THEIRS}; the blocker can write IP sets only in this stack's account ${OURS}`,
    );
  });

  it('with account set: sets of that account are accepted', () => {
    expect(parseConfig({ account: OURS, blocker: { sharedIpSets: [setIn(OURS)] } }).blocker.sharedIpSets).toEqual([
      setIn(OURS),
    ]);
  });

  it("without account: refused at synth against the CLI's account, as one ConfigError naming the entry", () => {
    const message = configErrorFrom(
      () =>
        build({ 'wafAutoblock.blocker.sharedIpSets': JSON.stringify([setIn(THEIRS)]) }, { CDK_DEFAULT_ACCOUNT: OURS }),
      'blocker.sharedIpSets[0]',
    );
    expect(message).toContain(`belongs to account ${THEIRS}`);
  });

  it('without account and without credentials: the stack is environment-agnostic and builds', () => {
    const stack = build({ 'wafAutoblock.blocker.sharedIpSets': JSON.stringify([setIn(THEIRS)]) }, {});
    expect(Token.isUnresolved(stack.account)).toBe(true);
  });

  it('the account key wins over the CLI account', () => {
    const stack = build({ 'wafAutoblock.account': THEIRS }, { CDK_DEFAULT_ACCOUNT: OURS });
    expect(stack.account).toBe(THEIRS);
  });
});
