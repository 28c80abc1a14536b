// The CDK app: `npx cdk synth` / `npx cdk deploy` in this folder (npm run cdk:synth from the root).
// Parameters come from CDK context (see params.ts and docs/aws.md). The stack
// is environment-agnostic (deployed to the account and region of the credentials `cdk deploy` uses), so
// synth never looks anything up in AWS and gives the same template with or without credentials.
import { App } from 'aws-cdk-lib';
import { ParamError, readParams } from './params.js';
import { OrdinalSetsExampleStack } from './sets-example.js';
import { OrdinalStack } from './stack.js';

const app = new App();
let params;
try {
  params = readParams((key) => app.node.tryGetContext(key));
} catch (err) {
  if (!(err instanceof ParamError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
}
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'Ordinal';
const ordinal = new OrdinalStack(app, stackName, {
  params,
  description: 'Ordinal: StatefulSets without Kubernetes, on Temporal (API on Lambda, worker on Fargate)',
});
// The example of sets as CloudFormation resources (sets-example.ts, docs/cdk.md), with a write token's secret.
const setsTokenSecret = app.node.tryGetContext('setsTokenSecret') as string | undefined;
if (setsTokenSecret) {
  new OrdinalSetsExampleStack(app, `${stackName}-Sets`, { ordinal, tokenSecret: setsTokenSecret, description: 'Ordinal sets as CloudFormation resources (example)' });
}
app.synth();
