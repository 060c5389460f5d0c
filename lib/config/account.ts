/**
 * The target AWS account: the `account` key, and the rule that the blocker writes IP sets only in
 * that account (its role holds no permission anywhere else).
 */
import { z } from 'zod';
import type { ConfigProblem } from './config-error';

const ACCOUNT_ID = /^\d{12}$/;

/**
 * What is wrong with an account id, or undefined when it is fine. A number is accepted when it has
 * 12 digits: `-c wafAutoblock.account=123456789012` arrives as a number, since `-c` values are read
 * as JSON. A shorter number has usually lost a leading 0 on the way, which only quoting keeps.
 */
export function accountIdProblem(value: string | number): string | undefined {
  if (typeof value === 'string') {
    return ACCOUNT_ID.test(value) ? undefined : 'must be a 12-digit AWS account id such as "123456789012"';
  }
  if (Number.isSafeInteger(value) && value >= 100_000_000_000 && value <= 999_999_999_999) return undefined;
  if (Number.isSafeInteger(value) && value > 0 && value < 100_000_000_000) {
    const padded = String(value).padStart(12, '0');
    return `must be a 12-digit AWS account id; the number ${value} has ${String(value).length} digits, as when a leading 0 is lost: if you mean "${padded}", quote it so that it stays text: -c 'wafAutoblock.account="${padded}"', or "account": "${padded}" in a JSON file`;
  }
  return `must be a 12-digit AWS account id, not the number ${value}: write it as text, e.g. "123456789012"`;
}

/**
 * The `account` key: a 12-digit id as text, or as a 12-digit number (turned into text).
 * @see accountIdProblem
 */
export const accountIdSchema = z
  .union([z.string(), z.number()], { error: 'must be a 12-digit AWS account id such as "123456789012"' })
  .transform((value, ctx) => {
    const problem = accountIdProblem(value);
    if (problem === undefined) return String(value);
    ctx.addIssue({ code: 'custom', message: problem, input: value });
    return z.NEVER;
  });

/** The account id field of an ARN (`arn:partition:service:region:account:resource`). */
export function accountOfArn(arn: string): string | undefined {
  return arn.split(':')[4];
}

/**
 * Why the blocker cannot share ranges with this IP set, or undefined when the set is in `account`.
 * @param source where `account` comes from, said in the message, e.g. `from the account key`.
 */
export function sharedIpSetAccountProblem(arn: string, account: string, source: string): string | undefined {
  const setAccount = accountOfArn(arn);
  if (setAccount === account) return undefined;
  return `belongs to account ${setAccount ?? '(none)'}; the blocker can write IP sets only in this stack's account ${account} (${source}): share with a set of this account, or deploy a stack in ${setAccount ?? 'that account'}`;
}

/**
 * The shared IP sets of another account than `account` (the `account` key), one problem each,
 * naming `blocker.sharedIpSets[N]`. Without `account` the app checks against the CLI's account
 * when it knows it (lib/blocker).
 */
export function sharedIpSetAccountProblems(config: {
  readonly account?: string | undefined;
  readonly blocker: { readonly sharedIpSets: readonly string[] };
}): ConfigProblem[] {
  const { account } = config;
  if (account === undefined) return [];
  return config.blocker.sharedIpSets.flatMap((arn, index) => {
    const message = sharedIpSetAccountProblem(arn, account, 'the account key');
    return message === undefined ? [] : [{ path: ['blocker', 'sharedIpSets', index], message }];
  });
}
