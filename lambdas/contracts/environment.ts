/**
 * Reading a Lambda's environment the one way both functions do: every variable checked once at
 * module load, and a bad one named in a ConfigurationError (a deployment bug, not a runtime state).
 * A contract: imports nothing outside lambdas/contracts, no AWS SDK, no CDK.
 */
import { type IpSetAddress, type IpSetShards, type WafScope } from './ip-set';

/** An environment variable the function needs is missing or invalid (a deployment bug). */
export class ConfigurationError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`environment variable ${variable} ${detail}`);
    this.name = 'ConfigurationError';
  }
}

/**
 * A region name of any AWS partition: `eu-west-1`, `cn-north-1`, `us-gov-west-1`, `us-isob-east-1`,
 * `eu-isoe-west-1`, `eusc-de-east-1` (European Sovereign Cloud). The SDK's partition table
 * (`regionRegex` in @aws-sdk/core's partitions) has them all as a code of 2 to 4 letters, one or two
 * words, and a number; the shape, not the list, so that a new region needs no new release.
 */
export const REGION_NAME = /^[a-z]{2,4}(?:-[a-z]+){1,2}-\d{1,2}$/;

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
    /** Whether the variable is set and not empty (for variables that only some deployments set). */
    isSet: (key: Key): boolean => (env[names[key]] ?? '') !== '',
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
    /**
     * One family's blocklist shards: a JSON array of `name|id` (sharded stacks), or one bare
     * `name|id` (one shard, as deployments before sharding set it). Refuses an empty array, a
     * malformed entry or a set listed twice.
     */
    ipSetShards(key: Key, scope: WafScope): IpSetShards {
      const raw = text(key);
      if (!raw.startsWith('[')) return [this.ipSet(key, scope)];
      const detail = 'must be "name|id" or a non-empty JSON array of "name|id" strings';
      const shards = this.jsonArray(key, (item): item is string => typeof item === 'string', detail).map(
        (address): IpSetAddress => {
          const [name, id, ...rest] = address.split('|');
          return name && id && rest.length === 0 ? { name, id, scope } : refuse(key, detail);
        },
      );
      const [first, ...more] = shards;
      if (first === undefined) return refuse(key, detail);
      if (new Set(shards.map((ref) => ref.id)).size !== shards.length)
        return refuse(key, 'lists the same IP set twice');
      return [first, ...more];
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
