// An example of sets as CloudFormation resources (OrdinalStatefulSet, docs/cdk.md): a stack beside
// the Ordinal stack that deploys one set, `web` (2 nginx tasks on Fargate, named in the stack's Route 53
// zone), with the Ordinal stack's outputs in its template. app.ts adds it when the context key
// setsTokenSecret names a Secrets Manager secret holding a write token (`ordinal token create
// cdk --scope write`); `cdk deploy` of it waits for the rollout and rolls back when it fails.
import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { OrdinalStack } from './stack.js';
import { OrdinalStatefulSet } from './stateful-set/construct.js';

export interface OrdinalSetsExampleStackProps extends StackProps {
  /** The Ordinal stack: its API, cluster, roles and zone. */
  ordinal: OrdinalStack;
  /** Name or complete ARN of the secret holding an API token with the write scope. */
  tokenSecret: string;
}

export class OrdinalSetsExampleStack extends Stack {
  readonly web: OrdinalStatefulSet;

  constructor(scope: Construct, id: string, props: OrdinalSetsExampleStackProps) {
    super(scope, id, props);
    const { ordinal } = props;
    const token = props.tokenSecret.startsWith('arn:')
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'ApiToken', props.tokenSecret)
      : secretsmanager.Secret.fromSecretNameV2(this, 'ApiToken', props.tokenSecret);

    this.web = new OrdinalStatefulSet(this, 'Web', {
      apiUrl: ordinal.apiUrl.url,
      apiToken: token,
      // The set stays if this stack is deleted by mistake: delete it with "ordinal delete web".
      removalPolicy: RemovalPolicy.RETAIN,
      manifest: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          // A rollout that makes no progress for 5 minutes fails the deployment.
          progressDeadlineSeconds: 300,
          template: {
            ecs: {
              cluster: ordinal.cluster.clusterArn,
              image: 'public.ecr.aws/nginx/nginx:stable',
              subnets: ordinal.instanceSubnetIds,
              securityGroups: [ordinal.instanceSecurityGroup.securityGroupId],
              taskRoleArn: ordinal.instanceTaskRole.roleArn,
              executionRoleArn: ordinal.instanceExecutionRole.roleArn,
              awslogs: { group: ordinal.instanceLogs.logGroupName },
            },
            ports: [{ name: 'http', port: 80 }],
            readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 },
          },
          dns: { provider: 'route53', zone: ordinal.zone.zoneName, hostedZoneId: ordinal.zone.hostedZoneId, private: true },
        },
      },
    });
  }
}
