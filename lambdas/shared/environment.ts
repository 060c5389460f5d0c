/**
 * Reading a Lambda's environment the one way both functions do: every variable checked once at
 * module load, and a bad one named in a ConfigurationError (a deployment bug, not a runtime state).
 */
import { ConfigurationError } from './errors';

/** WAF scope: `CLOUDFRONT` resources live in us-east-1, `REGIONAL` ones beside the ALB / API. */
export type WafScope = 'CLOUDFRONT' | 'REGIONAL';

/**
 * A region name of any AWS partition: `eu-west-1`, `cn-north-1`, `us-gov-west-1`, `us-isob-east-1`,
 * `eu-isoe-west-1`, `eusc-de-east-1` (European Sovereign Cloud). The SDK's partition table
 * (`regionRegex` in @aws-sdk/core's partitions) has them all as a code of 2 to 4 letters, one or two
 * words, and a number; the shape, not the list, so that a new region needs no new release.
 */
export const REGION_NAME = /^[a-z]{2,4}(?:-[a-z]+){1,2}-\d{1,2}$/;

/** An IP set as the functions address it: GetIPSet needs its name, id and scope. */
export interface IpSetAddress {
  readonly name: string;
  readonly id: string;
  readonly scope: WafScope;
}

/** An IP set named by its ARN: another web ACL's, maybe in another region, that gets the same ranges. */
export interface IpSetArnAddress extends IpSetAddress {
  readonly arn: string;
  /** From the ARN; CLOUDFRONT sets are in us-east-1. */
  readonly region: string;
}

/** `arn:aws:wafv2:<region>:<account>:<global|regional>/ipset/<name>/<id>`. */
const IP_SET_ARN =
  /^arn:aws[a-z-]*:wafv2:([a-z0-9-]+):(\d{12}):(global|regional)\/ipset\/([\w-]{1,128})\/([A-Za-z0-9-]{1,128})$/;

/**
 * Reads a WAFv2 IP set ARN, or undefined when `arn` is not one. A `global` ARN is a CLOUDFRONT set,
 * which AWS keeps in us-east-1.
 */
export function parseIpSetArn(arn: string): IpSetArnAddress | undefined {
  const match = IP_SET_ARN.exec(arn);
  if (!match) return undefined;
  const [, region = '', , kind, name = '', id = ''] = match;
  const scope: WafScope = kind === 'global' ? 'CLOUDFRONT' : 'REGIONAL';
  if (scope === 'CLOUDFRONT' && region !== 'us-east-1') return undefined;
  return { arn, name, id, scope, region };
}

/** Typed readers over `env` for the variables named in `names` (a contract object such as BLOCKER_ENV). */
export function environmentReader<Key extends string>(
  names: Readonly<Record<Key, string>>,
  env: Readonly<Record<string, string | undefined>>,
) {
  const refuse = (key: Key, detail: string): never => {
    throw new ConfigurationError(names[key], detail);
  };
  /** @throws {ConfigurationError} when the variable is unset or empty. */
  const text = (key: Key): string => {
    const value = env[names[key]];
    return value === undefined || value === '' ? refuse(key, 'is not set') : value;
  };
  return {
    text,
    refuse,
    /** Plain decimal digits only: Number() would also take `0x18` or `2.4e1`. */
    integer(key: Key, min: number, max: number): number {
      const raw = text(key);
      const value = Number(raw);
      return /^\d+$/.test(raw) && value >= min && value <= max
        ? value
        : refuse(key, `must be a whole number from ${min} to ${max}`);
    },
    scope(key: Key): WafScope {
      const value = text(key);
      return value === 'CLOUDFRONT' || value === 'REGIONAL' ? value : refuse(key, 'must be CLOUDFRONT or REGIONAL');
    },
    /** `name|id`, the form the constructs write. */
    ipSet(key: Key, scope: WafScope): IpSetAddress {
      const [name, id, ...rest] = text(key).split('|');
      return name && id && rest.length === 0 ? { name, id, scope } : refuse(key, 'must be "name|id"');
    },
    /** A JSON array whose every element passes `accept`. */
    jsonArray<T>(key: Key, accept: (item: unknown) => item is T, detail: string): T[] {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text(key));
      } catch {
        parsed = undefined;
      }
      return Array.isArray(parsed) && parsed.every(accept) ? parsed : refuse(key, detail);
    },
  };
}
