// OrdinalStatefulSet (infra/cdk/stateful-set/construct.ts) through aws-cdk-lib/assertions: the custom
// resource's properties (the manifest as JSON, with another stack's values resolved by CloudFormation),
// the token secret referenced by its ARN and readable by the handler's role only, never its value; the
// removal policy; one provider per stack; the manifest checked at synth time with the API's rules
// (values known only at deployment left to the API); the example stack. (Bundling is skipped here;
// test/integration/cdk-handler.test.ts bundles the handler and runs it.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, CfnParameter, Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, describe, expect, it } from 'vitest';
import { OrdinalStatefulSet, manifestFromFile, readParams, OrdinalStack, type OrdinalSetManifest } from '../../infra/cdk/index.js';
import { OrdinalSetsExampleStack } from '../../infra/cdk/sets-example.js';
import { tokenFromSecret } from '../../infra/cdk/stateful-set/handler.js';
import { REPO } from '../harness/system.js';

process.env.CDK_VALIDATION = 'false';
const outdirs: string[] = [];

function app(): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-cdk-construct-'));
  outdirs.push(outdir);
  return new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-asset-staging': true } });
}

afterAll(() => {
  for (const dir of outdirs) fs.rmSync(dir, { recursive: true, force: true });
});

const WEB: OrdinalSetManifest = {
  metadata: { name: 'web' },
  spec: {
    replicas: 3,
    progressDeadlineSeconds: 120,
    template: {
      process: { command: ['node', 'server.js'] },
      ports: [{ name: 'http', port: 8080 }],
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
    },
  },
};

function stackWith(props: Partial<ConstructorParameters<typeof OrdinalStatefulSet>[2]> = {}) {
  const stack = new Stack(app(), 'Sets');
  const secret = new secretsmanager.Secret(stack, 'Token', { description: 'an Ordinal API token' });
  const set = new OrdinalStatefulSet(stack, 'Web', { apiUrl: 'https://ordinal.example.com/', apiToken: secret, manifest: WEB, ...props });
  return { stack, secret, set, template: Template.fromStack(stack) };
}

function customResources(template: Template): Array<{ Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }> {
  return Object.values(template.findResources('Custom::OrdinalStatefulSet')) as Array<{ Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;
}

describe('OrdinalStatefulSet', () => {
  it('is a Custom::OrdinalStatefulSet whose properties carry the API, the manifest as JSON and the rollout settings', () => {
    const { template } = stackWith();
    const [resource] = customResources(template);
    expect(resource.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^OrdinalStatefulSetProviderframeworkonEvent/), 'Arn'] },
      ApiUrl: 'https://ordinal.example.com/',
      ApiTokenSecretId: { Ref: expect.stringMatching(/^Token/) },
      Manifest: expect.any(String),
      WaitForRollout: 'true',
      RolloutTimeoutSeconds: '1800',
    });
    // apiVersion and kind filled in; otherwise the manifest as given (the API fills in the defaults).
    expect(JSON.parse(resource.Properties.Manifest)).toEqual({ apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', ...WEB });
  });

  it('references the token secret by ARN: its value is never in the template, and only the handler may read it', () => {
    const stack = new Stack(app(), 'Sets');
    const secret = new secretsmanager.Secret(stack, 'Token', { secretStringValue: SecretValue.unsafePlainText('ord_THE_TOKEN') });
    new OrdinalStatefulSet(stack, 'Web', { apiUrl: 'https://ordinal.example.com/', apiToken: secret, manifest: WEB });
    const template = Template.fromStack(stack);
    const secretId = stack.getLogicalId(secret.node.defaultChild as never);
    // The value is in the secret (this test put it there) and nowhere else, not even as a dynamic reference.
    const holders = Object.entries(template.toJSON().Resources as Record<string, unknown>).filter(([, r]) => /ord_THE_TOKEN|resolve:secretsmanager/.test(JSON.stringify(r)));
    expect(holders.map(([id]) => id)).toEqual([secretId]);
    expect(customResources(template)[0].Properties.ApiTokenSecretId).toEqual({ Ref: secretId });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: { Ref: secretId } }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^OrdinalStatefulSetProviderRole') }],
    });
    // Both handler functions run with that role, whose own statements are its logs.
    const functions = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: Match.stringLikeRegexp('^index\\.(onEvent|isComplete)$') } }));
    expect(functions.map((f) => f.Properties.Role)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^OrdinalStatefulSetProviderRole/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^OrdinalStatefulSetProviderRole/), 'Arn'] },
    ]);
    expect(functions.map((f) => f.Properties.Runtime)).toEqual(['nodejs22.x', 'nodejs22.x']);
  });

  it('an imported secret is named, not given as a partial ARN (which is no secret id)', () => {
    const stack = new Stack(app(), 'Sets');
    new OrdinalStatefulSet(stack, 'Web', {
      apiUrl: 'https://ordinal.example.com',
      apiToken: secretsmanager.Secret.fromSecretNameV2(stack, 'Token', 'ordinal/cdk-token'),
      apiTokenField: 'token',
      manifest: WEB,
    });
    const [resource] = customResources(Template.fromStack(stack));
    expect(resource.Properties).toMatchObject({ ApiTokenSecretId: 'ordinal/cdk-token', ApiTokenField: 'token' });
  });

  it('deletes the set with the stack by default; RETAIN leaves it (and CloudFormation never asks the handler)', () => {
    expect(customResources(stackWith().template)[0]).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    expect(customResources(stackWith({ removalPolicy: RemovalPolicy.RETAIN }).template)[0]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(() => stackWith({ removalPolicy: RemovalPolicy.SNAPSHOT })).toThrow('Sets/Web: removalPolicy must be RemovalPolicy.DESTROY or RemovalPolicy.RETAIN, got snapshot');
  });

  it('takes waitForRollout and rolloutTimeout (at most 55 minutes: CloudFormation waits an hour)', () => {
    const [resource] = customResources(stackWith({ waitForRollout: false, rolloutTimeout: Duration.minutes(10) }).template);
    expect(resource.Properties).toMatchObject({ WaitForRollout: 'false', RolloutTimeoutSeconds: '600' });
    expect(() => stackWith({ rolloutTimeout: Duration.minutes(56) })).toThrow('Sets/Web: rolloutTimeout must be from 1 second to 55 minutes, got 56 minutes');
  });

  it('shares one provider among the sets of a stack, which may read each set\'s secret', () => {
    const stack = new Stack(app(), 'Sets');
    const token = new secretsmanager.Secret(stack, 'Token');
    new OrdinalStatefulSet(stack, 'Web', { apiUrl: 'https://ordinal.example.com', apiToken: token, manifest: WEB });
    const other = new secretsmanager.Secret(stack, 'OtherToken');
    new OrdinalStatefulSet(stack, 'Db', { apiUrl: 'https://other.example.com', apiToken: other, manifest: { ...WEB, metadata: { name: 'db' } } });
    const template = Template.fromStack(stack);
    template.resourceCountIs('Custom::OrdinalStatefulSet', 2);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.resourceCountIs('AWS::Lambda::Function', 5); // onEvent, isComplete, and the framework's three
    const grants = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^OrdinalStatefulSetProviderRole') }] } }));
    const resources = grants.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s: any) => s.Action.includes?.('secretsmanager:GetSecretValue')).map((s: any) => s.Resource);
    expect(resources).toEqual([{ Ref: stack.getLogicalId(token.node.defaultChild as never) }, { Ref: stack.getLogicalId(other.node.defaultChild as never) }]);
  });

  it('fails synth on an invalid manifest, naming every field and its rule as the API does', () => {
    const bad = {
      metadata: { name: 'Web' },
      spec: { replicas: -1, template: { process: { command: ['x'] }, ports: [{ port: 70000 }] }, colour: 'blue' },
    } as unknown as OrdinalSetManifest;
    expect(() => stackWith({ manifest: bad })).toThrow(
      /^Sets\/Web: invalid manifest for set Web:\n {2}metadata\.name: .+\n(.+\n)* {2}spec\.replicas: must be at least 0\n(.+\n)* {2}spec\.template\.ports\[0\]\.port: must be at most 65535(\n.+)*$/,
    );
    expect(() => stackWith({ manifest: bad })).toThrow(/\n {2}spec\.colour: unknown field/);
  });

  it('leaves values known only at deployment (another resource\'s attribute, a parameter) to the API', () => {
    const stack = new Stack(app(), 'Sets');
    const replicas = new CfnParameter(stack, 'Replicas', { type: 'Number' });
    const secret = new secretsmanager.Secret(stack, 'Token');
    const manifest: OrdinalSetManifest = {
      metadata: { name: 'web' },
      spec: {
        replicas: replicas.valueAsNumber,
        template: { ecs: { cluster: secret.secretArn, image: 'nginx', subnets: [secret.secretName] } },
      },
    };
    new OrdinalStatefulSet(stack, 'Web', { apiUrl: 'https://ordinal.example.com', apiToken: secret, manifest });
    const [resource] = customResources(Template.fromStack(stack));
    // Resolved by CloudFormation into the JSON text.
    expect(JSON.stringify(resource.Properties.Manifest)).toContain('"Ref":"Replicas"');
    // A literal mistake beside them is still caught.
    const wrong = { ...manifest, spec: { ...manifest.spec, minReadySeconds: -5 } };
    expect(() => new OrdinalStatefulSet(stack, 'Wrong', { apiUrl: 'https://ordinal.example.com', apiToken: secret, manifest: wrong })).toThrow(
      /^Sets\/Wrong: invalid manifest for set web:\n {2}spec\.minReadySeconds: must be at least 0$/,
    );
  });

  it('reads a manifest file as `ordinal apply -f` does, and names the file when it cannot', () => {
    const file = path.join(REPO, 'examples/web.yaml');
    const { template } = stackWith({ manifest: manifestFromFile(file) });
    expect(JSON.parse(customResources(template)[0].Properties.Manifest)).toMatchObject({ metadata: { name: 'web' }, spec: { replicas: 3 } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-cdk-manifest-'));
    outdirs.push(dir);
    fs.writeFileSync(path.join(dir, 'list.yaml'), '- a\n- b\n');
    expect(() => manifestFromFile(path.join(dir, 'list.yaml'))).toThrow(`${path.join(dir, 'list.yaml')}: the document must be a YAML mapping, not`);
  });
});

describe('the example stack (infra/cdk/sets-example.ts)', () => {
  it('deploys the set web on the Ordinal stack\'s cluster, roles and zone, kept if the stack goes', () => {
    const root = app();
    const params = readParams((key) => ({ temporalAddress: 'ordinal-test.a1b2c.tmprl.cloud:7233', temporalNamespace: 'ordinal-test.a1b2c', temporalSecret: 'ordinal/temporal' })[key]);
    const ordinal = new OrdinalStack(root, 'Ordinal', { params });
    const example = new OrdinalSetsExampleStack(root, 'Ordinal-Sets', { ordinal, tokenSecret: 'ordinal/cdk-token' });
    const [resource] = customResources(Template.fromStack(example));
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', Properties: { ApiTokenSecretId: 'ordinal/cdk-token', ApiUrl: { 'Fn::ImportValue': expect.stringContaining('FunctionUrl') } } });
    const text = JSON.stringify(resource.Properties.Manifest);
    for (const value of ['ClusterEB0386A7Arn', 'InstanceSecurityGroup', 'InstanceTaskRole', 'InstanceExecutionRole', 'InstanceLogs', 'Zone']) expect(text).toContain(value);
  }, 60_000);
});

describe('the token secret, as the handler reads it', () => {
  it('is the whole SecretString, or one JSON key of it; anything else is refused, naming the secret', () => {
    expect(tokenFromSecret(' ord_abc\n', 'ordinal/cdk-token')).toBe('ord_abc');
    expect(tokenFromSecret('{"token": "ord_abc", "other": 1}', 'ordinal/cdk-token', 'token')).toBe('ord_abc');
    expect(() => tokenFromSecret('', 'ordinal/cdk-token')).toThrow('the API token secret ordinal/cdk-token is empty');
    expect(() => tokenFromSecret('ord_abc', 'ordinal/cdk-token', 'token')).toThrow('the API token secret ordinal/cdk-token is not JSON, so it has no field token');
    expect(() => tokenFromSecret('{"other": "x"}', 'ordinal/cdk-token', 'token')).toThrow('the API token secret ordinal/cdk-token has no string field token');
  });
});
