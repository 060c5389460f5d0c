/**
 * The deployment's configuration as `cdk deploy` builds it, for commands that need it: `replay`
 * simulates its rate rules, the operator commands take the stack name and region from it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, FILE_CONTEXT_KEY, loadConfig } from '#config/load';
import type { WafAutoblockConfig } from '#config/schema';
import { CommandError } from './errors';

/** The shipped cdk.json, for when the current directory is not a waf-autoblock project. */
const PACKAGE_CDK_JSON = fileURLToPath(new URL('../cdk.json', import.meta.url));

/**
 * cdk.json's context (from `cwd`, else the one shipped with waf-autoblock), then the `--config`
 * file, validated by the same schema as `cdk deploy` uses.
 *
 * @param configFile - The `--config` value, relative to `cwd`; undefined when not given.
 * @throws {CommandError} naming the file or the key when a file cannot be read or a value is invalid.
 */
export async function readConfig(cwd: string, configFile: string | undefined): Promise<WafAutoblockConfig> {
  const local = resolve(cwd, 'cdk.json');
  const cdkJsonPath = existsSync(local) ? local : PACKAGE_CDK_JSON;
  const file = configFile === undefined ? undefined : resolve(cwd, configFile);
  let context: Record<string, unknown> = {};
  if (existsSync(cdkJsonPath)) {
    try {
      const cdkJson = JSON.parse(await readFile(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> };
      context = cdkJson.context ?? {};
    } catch (cause) {
      throw new CommandError(`cannot read ${cdkJsonPath}: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
      });
    }
  }
  if (file !== undefined && !existsSync(file)) {
    throw new CommandError(`--config file ${file} does not exist`);
  }
  if (file !== undefined) await refuseWholeCdkJson(file);
  const sources = file === undefined || file === cdkJsonPath ? cdkJsonPath : `${cdkJsonPath} and ${file}`;
  try {
    return loadConfig((key) => (key === FILE_CONTEXT_KEY ? file : context[key]), []);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CommandError(`${error.message} (config from ${sources})`, { cause: error });
    throw error;
  }
}

/**
 * Refuses a `--config` file that is a whole cdk.json (an object with `app` or `context`): `--config`
 * takes the settings object, what cdk.json holds under `context.wafAutoblock`, as `-c config=` does.
 * A file that is not JSON is left to the config loader, which names where it stopped.
 *
 * @throws {CommandError} naming the file and what to pass instead.
 */
async function refuseWholeCdkJson(file: string): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, ''));
  } catch {
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
  const cdkKeys = ['app', 'context'].filter((key) => Object.hasOwn(parsed, key));
  if (cdkKeys.length === 0) return;
  throw new CommandError(
    `--config ${file} is a whole cdk.json (it has ${cdkKeys.map((key) => `"${key}"`).join(' and ')}); --config takes ` +
      'the settings object, what cdk.json holds under context.wafAutoblock (a file such as {"scope":"REGIONAL"}), ' +
      'and the CLI already reads the cdk.json of the current folder',
  );
}
