import { createHash } from 'node:crypto';
import { Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { ConfigError } from '#config/config-error';

/**
 * Longest name prefix, in characters. WAF names (web ACL, IP sets) are at most 128 characters of
 * letters, digits, `-` and `_`; the prefix leaves 28 for what follows it (`-allowlist-ipv4` is 15).
 */
export const MAX_NAME_PREFIX_LENGTH = 100;

const NAME_PREFIX = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_NAME_PREFIX_LENGTH}}$`);
/** Characters of the digest that tells two shortened stack names apart. */
const DIGEST_LENGTH = 8;

/**
 * The prefix of the WAF resource names, metric names and the `aws-waf-logs-` log group of a
 * waf-autoblock construct: `namePrefix` when given, else the name of the stack the construct is in
 * (`Stack.of(scope).stackName`: the `stackName` prop, or the name the CDK derives from the stack's
 * path, such as `Prod-Web` for stack `Web` in stage `Prod`).
 *
 * A stack name longer than {@link MAX_NAME_PREFIX_LENGTH} (CloudFormation allows 128) is shortened
 * to its start, `-` and 8 hex characters of its SHA-256, so that two long names still differ.
 *
 * @throws {ConfigError} naming `namePrefix` when the given prefix is not 1 to 100 letters, digits,
 *   `-` or `_`, or when it is unset and the stack name is only known at deploy time (a nested stack,
 *   or a token as `stackName`).
 */
export function namePrefixOf(scope: IConstruct, namePrefix?: string): string {
  if (namePrefix !== undefined) {
    if (Token.isUnresolved(namePrefix) || !NAME_PREFIX.test(namePrefix)) {
      throw new ConfigError(
        'namePrefix',
        `invalid configuration: namePrefix must be 1 to ${MAX_NAME_PREFIX_LENGTH} letters, digits, "-" or "_" known at synth (WAF names allow no other characters), got ${JSON.stringify(namePrefix)}`,
      );
    }
    return namePrefix;
  }
  const stack = Stack.of(scope);
  const { stackName } = stack;
  if (Token.isUnresolved(stackName)) {
    throw new ConfigError(
      'namePrefix',
      `invalid configuration: namePrefix must be set for ${scope.node.path}: the name of its stack ${stack.node.path} is only known at deploy time (a nested stack, or a token as stackName)`,
    );
  }
  if (stackName.length <= MAX_NAME_PREFIX_LENGTH) return stackName;
  const digest = createHash('sha256').update(stackName).digest('hex').slice(0, DIGEST_LENGTH);
  return `${stackName.slice(0, MAX_NAME_PREFIX_LENGTH - DIGEST_LENGTH - 1)}-${digest}`;
}
