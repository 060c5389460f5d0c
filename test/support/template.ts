/** Reading a synthesized template the way the infrastructure tests need: a function and its role's statements. */
import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';

export type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type PolicyResource = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles?: { Ref: string }[] } };
export type FunctionResource = {
  Properties: Record<string, unknown> & {
    Role: { 'Fn::GetAtt': [string, string] };
    Environment: { Variables: Record<string, unknown> };
  };
};

/** The one Lambda function whose Powertools service name is `service`, with its logical id. */
export function functionOfService(template: Template, service: string): [string, FunctionResource] {
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } },
  });
  const entries = Object.entries(functions) as [string, FunctionResource][];
  expect(entries).toHaveLength(1);
  return entries[0]!;
}

/** Every IAM statement attached to the function's role. */
export function statementsOf(template: Template, fn: FunctionResource): Statement[] {
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as PolicyResource[];
  return policies
    .filter((policy) => policy.Properties.Roles?.some((role) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

export const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

export const resourcesOf = (statement: Statement): unknown[] =>
  Array.isArray(statement.Resource) ? (statement.Resource as unknown[]) : [statement.Resource];
