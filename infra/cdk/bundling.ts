// How the CDK app bundles its Lambda functions (the API, the OrdinalStatefulSet handlers): the local
// esbuild, never Docker, so `cdk synth` runs offline; one ES module with every dependency in it (the AWS
// SDK too, at the version tested, not the runtime's copy).
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

export function offlineEsmBundling(externalModules: string[] = []): BundlingOptions {
  return {
    forceDockerBundling: false,
    format: OutputFormat.ESM,
    target: 'node22',
    mainFields: ['module', 'main'],
    // CommonJS dependencies bundled into an ES module still call require().
    banner: "import { createRequire as __ordinalCreateRequire } from 'node:module'; const require = __ordinalCreateRequire(import.meta.url);",
    externalModules,
    minify: true,
    sourceMap: true,
    sourcesContent: false,
  };
}
