/**
 * How the operator commands find a deployment: stack and region from flags or the config, the
 * stack's outputs, the blocker function's environment; and what they say when any of it is wrong.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RANGE, ledgerEntry } from '../support/blocker-fixtures';
import { cloudformation, deploy, FUNCTION_NAME, lambda, startServers, strictMocks, type Servers } from './support';

let servers: Servers;
const dir = mkdtempSync(join(tmpdir(), 'waf-cli-deployment-'));

beforeAll(async () => {
  servers = await startServers();
});

afterAll(async () => {
  await servers.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  strictMocks();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function configFile(name: string, config: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

describe('finding the deployment', () => {
  it('uses the config: stack WafAutoblock in us-east-1 for the default CLOUDFRONT scope', async () => {
    const deployment = await deploy(servers);
    await deployment.ledger.upsert([ledgerEntry(RANGE.linode)]);

    const { code, stdout } = await deployment.run('list', '--format', 'plain');

    expect(code).toBe(0);
    expect(stdout).toBe(`${RANGE.linode}\n`);
    expect(deployment.regions).toEqual(['us-east-1']);
    expect(cloudformation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'WafAutoblock' });
    expect(lambda).toHaveReceivedCommandWith(GetFunctionConfigurationCommand, { FunctionName: FUNCTION_NAME });
  });

  it('takes the stack name and region from --config, and --stack and --region over it', async () => {
    const regional = configFile('regional.json', { stackName: 'ShopWaf', scope: 'REGIONAL', region: 'eu-west-1' });
    const fromConfig = await deploy(servers, { stackName: 'ShopWaf' });
    expect(await fromConfig.run('list', '--config', regional)).toMatchObject({ code: 0 });
    expect(fromConfig.regions).toEqual(['eu-west-1']);

    const fromFlags = await deploy(servers, { stackName: 'OtherWaf' });
    const flags = ['--config', regional, '--stack', 'OtherWaf', '--region', 'ap-southeast-2'];
    expect(await fromFlags.run('list', ...flags)).toMatchObject({ code: 0 });
    expect(fromFlags.regions).toEqual(['ap-southeast-2']);
  });

  it('leaves the region to the SDK for a REGIONAL config without one, and names the region it searched', async () => {
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const regional = configFile('no-region.json', { stackName: 'ApiWaf', scope: 'REGIONAL' });
    const deployment = await deploy(servers, { stackName: 'ApiWaf' });
    cloudformation
      .on(DescribeStacksCommand, { StackName: 'ApiWaf' }, true)
      .rejects(awsError('ValidationError', 'Stack with id ApiWaf does not exist'));

    const { code, stderr } = await deployment.run('status', '--config', regional);

    expect(code).toBe(1);
    expect(deployment.regions).toEqual([undefined]);
    expect(stderr).toBe(
      'waf-autoblock status: stack "ApiWaf" not found in eu-central-1; pass --stack and --region (or set stackName and region in the config) to name the deployment\n',
    );
  });

  it.each([
    [
      'missing credentials',
      awsError('CredentialsProviderError', 'Could not load credentials from any providers'),
      'no AWS credentials found (CredentialsProviderError: Could not load credentials from any providers); set AWS_PROFILE',
    ],
    [
      'expired credentials',
      awsError('ExpiredToken', 'The security token included in the request is expired'),
      'AWS rejected the credentials (ExpiredToken: The security token included in the request is expired); refresh them',
    ],
    [
      'a denied DescribeStacks',
      awsError('AccessDenied', 'User: arn:aws:iam::123456789012:user/ops is not authorized'),
      'cloudformation:DescribeStacks on stack WafAutoblock in us-east-1 was denied (AccessDenied: User: arn:aws:iam::123456789012:user/ops is not authorized); the operator needs that permission',
    ],
    [
      'no network',
      Object.assign(awsError('Error', 'getaddrinfo ENOTFOUND cloudformation.us-east-1.amazonaws.com'), {
        code: 'ENOTFOUND',
      }),
      'cannot reach AWS (no network or DNS, or a region that does not exist): cloudformation:DescribeStacks on stack WafAutoblock in us-east-1: getaddrinfo ENOTFOUND cloudformation.us-east-1.amazonaws.com\n',
    ],
  ])('exits 1 on %s, saying what to do', async (_case, error, message) => {
    const deployment = await deploy(servers);
    cloudformation.on(DescribeStacksCommand).rejects(error);

    const { code, stderr } = await deployment.run('list');

    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });

  it('exits 1 naming a missing output and saying how to add it, from this checkout or from your own app', async () => {
    const deployment = await deploy(servers, { outputs: [{ OutputKey: 'LedgerTableName', OutputValue: 'Ledger' }] });

    const { code, stderr } = await deployment.run('list');

    expect(code).toBe(1);
    expect(stderr).toBe(
      'waf-autoblock list: stack WafAutoblock in us-east-1 (UPDATE_COMPLETE) has no output BlockerFunctionName: deploy it again with this version of waf-autoblock ("npx cdk deploy" in the waf-autoblock checkout, or in your own app that holds the WafAutoblock construct, which adds the outputs)\n',
    );
  });

  it("finds the construct's outputs in a stack of another app, by the construct's logical ids", async () => {
    const deployment = await deploy(servers, {
      outputs: [
        { OutputKey: 'ShopProtectionBlockerFunctionName5F3A2B1C', OutputValue: FUNCTION_NAME },
        { OutputKey: 'ShopProtectionBlockerLogGroupName0D9E8F7A', OutputValue: 'shop-logs' },
      ],
    });

    const { code, stdout } = await deployment.run('list');

    expect(code).toBe(0);
    expect(stdout).not.toBe('');
  });

  it('exits 1 naming the outputs when a stack holds two constructs', async () => {
    const deployment = await deploy(servers, {
      outputs: [
        { OutputKey: 'ShopBlockerFunctionName5F3A2B1C', OutputValue: FUNCTION_NAME },
        { OutputKey: 'BlogBlockerFunctionName0D9E8F7A', OutputValue: 'other' },
      ],
    });

    const { code, stderr } = await deployment.run('list');

    expect(code).toBe(1);
    expect(stderr).toContain(
      'holds 2 WafAutoblock constructs (outputs ShopBlockerFunctionName5F3A2B1C, BlogBlockerFunctionName0D9E8F7A); the CLI works on a stack with one',
    );
  });

  it('exits 1 naming the blocker function when it does not exist', async () => {
    const deployment = await deploy(servers);
    lambda
      .on(GetFunctionConfigurationCommand)
      .rejects(awsError('ResourceNotFoundException', `Function not found: ${FUNCTION_NAME}`));

    const { code, stderr } = await deployment.run('list');

    expect(code).toBe(1);
    expect(stderr).toContain(
      `the blocker function ${FUNCTION_NAME} (output BlockerFunctionName of stack WafAutoblock) does not exist in us-east-1`,
    );
  });

  it("exits 1 naming the blocker's environment variable that is missing or invalid", async () => {
    const missing = await deploy(servers, { environment: { LEDGER_TABLE: undefined } });
    const first = await missing.run('ban', RANGE.linode);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(
      `the blocker function ${FUNCTION_NAME} of stack WafAutoblock is not configured as this CLI expects: environment variable LEDGER_TABLE is not set; redeploy`,
    );

    const invalid = await deploy(servers, { environment: { IPV4_PREFIX: '33' } });
    const second = await invalid.run('list');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('environment variable IPV4_PREFIX must be a whole number from 8 to 32');
  });

  it('exits 2 naming a malformed --region, and 1 naming a --config file that does not exist', async () => {
    const deployment = await deploy(servers);

    const region = await deployment.run('status', '--region', 'Frankfurt');
    expect(region).toMatchObject({ code: 2 });
    expect(region.stderr).toContain('--region must be an AWS region such as eu-west-1, got "Frankfurt"');

    const config = await deployment.run('status', '--config', 'nope.json');
    expect(config).toMatchObject({ code: 1 });
    expect(config.stderr).toContain('nope.json does not exist');
    expect(deployment.regions).toEqual([]);
  });
});
