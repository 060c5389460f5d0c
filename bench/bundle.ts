/**
 * The blocker's Lambda bundle: its size, built exactly as lib/autoblock-function builds it (esbuild,
 * ESM, minified, source map, AWS SDK external), and how long a fresh Node.js process takes to import
 * it, which is most of what a cold start adds on top of the runtime's own start.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { importOnce, lambdaBuildOptions, linkNodeModules, spread } from './bundling';
import { BLOCKER_ENV } from '#contracts/blocker-environment';
import { report } from './measure';

const ENTRY = 'lambdas/blocker/handler.ts';
const IMPORT_RUNS = 10;

const CDK_OPTIONS = { ...lambdaBuildOptions(ENTRY), metafile: true as const };

/** Dummy values for every variable `readBlockerSettings` checks, so module initialisation succeeds. */
const SETTINGS_ENV: Record<keyof typeof BLOCKER_ENV, string> = {
  scope: 'CLOUDFRONT',
  webAclName: 'site-acl',
  webAclId: 'acl-1',
  webAclArn: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/site-acl/acl-1',
  rateRules: JSON.stringify(['rate-per-ip', 'rate-login']),
  blocklistIpv4: 'blocklist-v4|id-1',
  blocklistIpv6: 'blocklist-v6|id-2',
  allowlistIpv4: 'allowlist-v4|id-3',
  allowlistIpv6: 'allowlist-v6|id-4',
  alarmName: 'site-acl-blocked-requests',
  ledgerTable: 'autoblock-ledger',
  reportsTopicArn: 'arn:aws:sns:us-east-1:123456789012:autoblock-reports',
  gate: 'alarm',
  blockDurationMinutes: '1440',
  ipv4Prefix: '24',
  ipv6Prefix: '64',
  dryRun: 'false',
  feedTopicArn: 'arn:aws:sns:us-east-1:123456789012:autoblock-ban-feed',
  sharedIpSets: '[]',
};

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

/** Output bytes by npm package (or "project code"), largest first. */
function bytesByPackage(metafile: Metafile): [string, number][] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const name = match?.[1] ?? 'project code';
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

export default async function (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'autoblock-bundle-'));
  try {
    const outfile = join(dir, 'index.mjs');
    const { metafile } = await build({ ...CDK_OPTIONS, outfile });
    report('blocker bundle, minified (index.mjs)', kb((await stat(outfile)).size), '<= 300 KB');
    report('blocker bundle, source map (index.mjs.map)', kb((await stat(`${outfile}.map`)).size));
    for (const [name, bytes] of bytesByPackage(metafile).slice(0, 4)) report(`  of which ${name}`, kb(bytes));

    const withSdk = join(dir, 'with-sdk', 'index.mjs');
    await build({ ...CDK_OPTIONS, external: [], metafile: false, outfile: withSdk });
    report('blocker bundle with @aws-sdk bundled too (informational)', kb((await stat(withSdk)).size));

    await linkNodeModules(dir);
    const childEnv = (nodeOptions: string): NodeJS.ProcessEnv => ({
      AWS_REGION: 'us-east-1',
      POWERTOOLS_SERVICE_NAME: 'blocker',
      POWERTOOLS_METRICS_NAMESPACE: 'WafAutoblock',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: nodeOptions,
      ...Object.fromEntries(
        Object.entries(SETTINGS_ENV).map(([key, value]) => [BLOCKER_ENV[key as keyof typeof BLOCKER_ENV], value]),
      ),
    });
    const importWith = (bundle: string, nodeOptions: string) => importOnce(bundle, childEnv(nodeOptions));

    // The construct sets NODE_OPTIONS=--enable-source-maps, which makes node read the map at load.
    // Variants take turns within each round, so that load from other processes hits them alike.
    const variants = [
      {
        label: `import, fresh node, median [min-max] of ${IMPORT_RUNS}`,
        bundle: outfile,
        options: '--enable-source-maps',
      },
      { label: '  same without --enable-source-maps', bundle: outfile, options: '' },
      { label: '  import with @aws-sdk bundled too (informational)', bundle: withSdk, options: '--enable-source-maps' },
    ];
    const samples = variants.map(() => ({
      importMs: [] as number[],
      processMs: [] as number[],
      primingMs: [] as number[],
    }));
    for (const variant of variants) await importWith(variant.bundle, variant.options); // fills the file cache
    for (let round = 0; round < IMPORT_RUNS; round++) {
      for (const [index, variant] of variants.entries()) {
        const sample = await importWith(variant.bundle, variant.options);
        samples[index]!.importMs.push(sample.importMs);
        samples[index]!.processMs.push(sample.processMs);
        if (sample.primingMs !== undefined) samples[index]!.primingMs.push(sample.primingMs);
      }
    }
    variants.forEach((variant, index) => {
      report(variant.label, spread(samples[index]!.importMs));
    });
    const priming = samples[0]!.primingMs;
    report(
      '  of which the init priming the decision path, as shipped',
      // Every sample's, or it says why not: a priming that failed logs a warning instead.
      priming.length === IMPORT_RUNS
        ? spread(priming)
        : `${IMPORT_RUNS - priming.length} of ${IMPORT_RUNS} imports logged no "decision path primed" line`,
    );
    report('  whole child process (spawn to exit), as shipped', spread(samples[0]!.processMs));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
