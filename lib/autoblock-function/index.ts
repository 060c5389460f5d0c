import { type Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '#contracts/health';
import { retentionDays } from '../log-retention';

/** ESM bundles still meet CommonJS dependencies that call require(). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";
/**
 * The Node.js 22 runtime ships AWS SDK v3; bundling it would take the blocker from about 62 KB to 448 KB.
 * Everything else (Powertools, our code) is bundled and pinned by package-lock.json.
 */
export const EXTERNAL_MODULES = ['@aws-sdk/*'];

/** Props of {@link AutoblockFunction}. */
export interface AutoblockFunctionProps {
  /** Path of the handler module (TypeScript), bundled locally with esbuild. */
  readonly entry: string;
  readonly description: string;
  /**
   * Powertools service name: in every log line, and the `service` dimension of every custom metric
   * the function publishes. Make it unique per deployment (e.g. `<namePrefix>-blocker`), or two
   * stacks in one account and region would add up in the same metrics and alarms.
   */
  readonly serviceName: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Days to keep the function's logs. */
  readonly logRetentionDays: number;
  /**
   * Reserved concurrency.
   * @default unreserved
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Extra environment, merged over the defaults (never replacing them wholesale).
   * @default {}
   */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * The one way this project builds a Lambda: Node.js 22 on arm64, an esbuild-minified ESM bundle with
 * source maps (bundled on this machine, never in Docker), its own log group with retention, and a
 * role that may write to that log group only.
 */
export class AutoblockFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  /** Where the function logs (not /aws/lambda/<name>: the group is the stack's, with its retention). */
  readonly logGroup: logs.LogGroup;
  /** The `service` dimension of the function's custom metrics (namespace {@link METRICS_NAMESPACE}). */
  readonly serviceName: string;
  private readonly environmentNames: Set<string>;

  constructor(scope: Construct, id: string, props: AutoblockFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: retentionDays(props.logRetentionDays) });
    this.logGroup = logGroup;
    this.serviceName = props.serviceName;
    // An explicit role with a policy on this log group alone, instead of the AWSLambdaBasicExecutionRole
    // managed policy that may write to every log group in the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.serviceName}: runs the function; each permission is granted next to the variable that needs it`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    const environment = {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: props.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      ...props.environment,
    };
    this.environmentNames = new Set(Object.keys(environment));
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize,
      role: this.role,
      logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment,
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        forceDockerBundling: false,
        banner: ESM_REQUIRE_BANNER,
        externalModules: EXTERNAL_MODULES,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions::AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22 on purpose: the project targets the 22 runtime and its code must also run on Node 20 build machines',
    });
  }

  /** Adds a variable; refuses to overwrite one that is already set, so two grants never fight over a name. */
  addEnvironment(name: string, value: string): void {
    if (this.environmentNames.has(name))
      throw new Error(`${this.node.path}: environment variable ${name} is already set`);
    this.environmentNames.add(name);
    this.function.addEnvironment(name, value);
  }
}
