/**
 * `cdk synth --strict` fails on any warning, so the default stack has none (issue 10, second
 * round, finding 4): CDK's warning about permissions on a function with versions is acknowledged
 * in lib/blocker, because each alias the blocker is invoked through has its own permission.
 */
import { rmSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { WafAutoblockStack } from '../../lib/waf-autoblock-stack';
import { loadWithContext } from '../support/config-errors';

describe('the default stack synthesizes without warnings', () => {
  it('has no warning, and each blocker alias has its own invoke permission from EventBridge', () => {
    const config = loadWithContext({});
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new WafAutoblockStack(app, config.stackName, {
      config,
      env: { account: '123456789012', region: 'us-east-1' },
    });
    try {
      const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
      expect(warnings.map((warning) => warning.entry.data)).toEqual([]);

      const template = Template.fromStack(stack);
      const aliases = Object.entries(template.findResources('AWS::Lambda::Alias')).filter(([, alias]) =>
        ['scheduled', 'attack-tick'].includes((alias as { Properties: { Name: string } }).Properties.Name),
      );
      expect(aliases.map(([, alias]) => (alias as { Properties: { Name: string } }).Properties.Name).sort()).toEqual([
        'attack-tick',
        'scheduled',
      ]);
      for (const [logicalId] of aliases) {
        template.hasResourceProperties('AWS::Lambda::Permission', {
          Action: 'lambda:InvokeFunction',
          FunctionName: { Ref: logicalId },
          Principal: 'events.amazonaws.com',
        });
      }
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
  });
});
