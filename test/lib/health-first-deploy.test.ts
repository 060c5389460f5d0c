/**
 * A clean first deploy pages nobody: the blocker runs once during the deploy, after its function
 * exists and before the health alarms are created, so that blocker-stopped (missing data breaching)
 * finds a run when CloudWatch first evaluates it.
 */
import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { healthAlarmKindOf, HEALTH_ALARM_KINDS } from '#contracts/health';
import { WafAutoblock } from '../../lib/waf-autoblock';
import { synthesizeChecked, TEST_APP_CONTEXT } from '../support/synth';
import { functionOfService } from '../support/template';

type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] };

/** Logical ids that `id` waits for, directly or through other resources. */
function dependenciesOf(resources: Record<string, Resource>, id: string, seen = new Set<string>()): Set<string> {
  for (const dependency of resources[id]?.DependsOn ?? []) {
    if (seen.has(dependency)) continue;
    seen.add(dependency);
    dependenciesOf(resources, dependency, seen);
  }
  return seen;
}

describe('the first deploy', () => {
  const app = new App({ context: { ...TEST_APP_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Shop', { env: { account: '123456789012', region: 'us-east-1' } });
  new WafAutoblock(stack, 'Protection');
  const [template] = synthesizeChecked(app, [stack]) as [Template];
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const triggers = Object.entries(resources).filter(([, resource]) => resource.Type === 'Custom::Trigger');
  const [blockerId] = functionOfService(template, 'Shop-blocker');

  it('runs the blocker once, synchronously, and not again when only its code changes', () => {
    expect(triggers).toHaveLength(1);
    const [, trigger] = triggers[0]!;
    expect(trigger.Properties).toMatchObject({ InvocationType: 'RequestResponse', ExecuteOnHandlerChange: false });
    // The trigger invokes a published version of the blocker; old versions go with each update.
    const versionId = (trigger.Properties?.HandlerArn as { Ref: string }).Ref;
    expect(resources[versionId]).toMatchObject({
      Type: 'AWS::Lambda::Version',
      Properties: { FunctionName: { Ref: blockerId } },
      DeletionPolicy: 'Delete',
    });
  });

  it('runs it after the blocker function exists (it names a version of it) and before any health alarm is created', () => {
    const [triggerId] = triggers[0]!;
    const healthAlarms = Object.entries(resources).filter(
      ([, resource]) =>
        resource.Type === 'AWS::CloudWatch::Alarm' &&
        healthAlarmKindOf(String(resource.Properties?.AlarmName)) !== undefined,
    );
    expect(healthAlarms).toHaveLength(HEALTH_ALARM_KINDS.length);
    for (const [alarmId] of healthAlarms) {
      expect(dependenciesOf(resources, alarmId), alarmId).toContain(triggerId);
    }
  });
});
