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

/** The intrinsic functions that {@link evaluateIntrinsics} knows. */
type Intrinsic =
  | { Ref: string }
  | { 'Fn::Join': [string, unknown[]] }
  | { 'Fn::Select': [number | string, unknown] }
  | { 'Fn::Split': [string, unknown] };

/**
 * A template value as CloudFormation resolves it at deploy time, for the intrinsics that names are
 * built of: `Ref` (to one of `refs`, e.g. `AWS::StackId`), `Fn::Join`, `Fn::Select`, `Fn::Split`.
 * @throws {Error} on any other intrinsic or an unknown reference.
 */
export function evaluateIntrinsics(value: unknown, refs: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(value)) return value.map((item) => evaluateIntrinsics(item, refs));
  if (value === null || typeof value !== 'object') return value;
  const [name, ...others] = Object.keys(value);
  if (name === undefined || others.length > 0 || !(name === 'Ref' || name.startsWith('Fn::'))) return value;
  const intrinsic = value as Intrinsic;
  const text = (operand: unknown): string => {
    const result = evaluateIntrinsics(operand, refs);
    if (typeof result !== 'string') throw new Error(`expected a string, got ${JSON.stringify(result)}`);
    return result;
  };
  const list = (operand: unknown): unknown[] => {
    const result = evaluateIntrinsics(operand, refs);
    if (!Array.isArray(result)) throw new Error(`expected a list, got ${JSON.stringify(result)}`);
    return result;
  };
  if ('Ref' in intrinsic) {
    const resolved = refs[intrinsic.Ref];
    if (resolved === undefined) throw new Error(`no value given for Ref ${intrinsic.Ref}`);
    return resolved;
  }
  if ('Fn::Join' in intrinsic) {
    const [delimiter, parts] = intrinsic['Fn::Join'];
    return list(parts).map(text).join(delimiter);
  }
  if ('Fn::Select' in intrinsic) {
    const [index, from] = intrinsic['Fn::Select'];
    return list(from)[Number(index)];
  }
  if ('Fn::Split' in intrinsic) {
    const [delimiter, source] = intrinsic['Fn::Split'];
    return text(source).split(delimiter);
  }
  throw new Error(`cannot evaluate ${name}`);
}

/** A resource as the template holds it, with its deletion policies. */
export type ResourceEntry = {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};

/** The log group that the web ACL's logging configuration delivers to, with its logical id. */
export function wafLogGroupOf(template: Template): [string, ResourceEntry] {
  const configs = Object.values(template.findResources('AWS::WAFv2::LoggingConfiguration')) as ResourceEntry[];
  expect(configs).toHaveLength(1);
  const destination = JSON.stringify(configs[0]?.Properties?.LogDestinationConfigs);
  // The ARN is joined from pseudo parameters (AWS::Partition) and a Ref to the group.
  const logicalId = [...destination.matchAll(/"Ref":"([^"]+)"/g)]
    .map((match) => match[1])
    .find((ref) => ref !== undefined && !ref.startsWith('AWS::'));
  const resource =
    logicalId === undefined
      ? undefined
      : (template.toJSON() as { Resources: Record<string, ResourceEntry> }).Resources[logicalId];
  if (logicalId === undefined || resource?.Type !== 'AWS::Logs::LogGroup')
    throw new Error(`the WAF logging destination names no log group of the template: ${destination}`);
  return [logicalId, resource];
}

/** Every resource of the template whose DeletionPolicy keeps it when the stack is deleted. */
export function retainedResources(template: Template): [string, ResourceEntry][] {
  const { Resources } = template.toJSON() as { Resources: Record<string, ResourceEntry> };
  return Object.entries(Resources).filter(([, resource]) => resource.DeletionPolicy === 'Retain');
}

/**
 * A template value with every `Fn::GetAtt` and `Ref` replaced by a stand-in (`<logicalId>.<attribute>`,
 * `<logicalId>`) and every `Fn::Join` joined: what the function sees, with made-up ids.
 */
function deployed(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const intrinsic = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (intrinsic['Fn::GetAtt']) return intrinsic['Fn::GetAtt'].join('.');
  if (intrinsic.Ref !== undefined) return intrinsic.Ref;
  if (intrinsic['Fn::Join']) return intrinsic['Fn::Join'][1].map(deployed).join(intrinsic['Fn::Join'][0]);
  return value;
}

/** The function's environment as it would read it once deployed, with made-up ids for the resources it names. */
export function deployedEnvironment(fn: FunctionResource): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fn.Properties.Environment.Variables).map(([name, value]) => [name, String(deployed(value))]),
  );
}
