// `cdk synth` of infra/cdk/ as CI runs it (npm run cdk:synth): the real CDK CLI, offline (no AWS
// credentials, every HTTP(S) request sent to a dead proxy), no Docker: the API is bundled by the local
// esbuild, the worker image's build context is only staged. Then the bundle itself is loaded by Node
// and answers a Function URL event, so what Lambda would run is known to start.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../harness/system.js';

const CDK_DIR = path.join(REPO, 'infra/cdk');
let outdir: string;
let run: { code: number | null; stdout: string; stderr: string; ms: number };

function exec(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; input?: string }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${options.timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The environment of a CI runner without AWS credentials or network. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')));
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    NO_PROXY: '',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CI: 'true',
  };
}

beforeAll(async () => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-cdk-synth-'));
  // The same command as `npm run cdk:synth`, into a temporary output folder.
  const script = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).scripts['cdk:synth'] as string;
  const args = script.replace(/^cd infra\/cdk && cdk /, '').split(' ');
  expect(args[0]).toBe('synth');
  run = await exec(path.join(REPO, 'node_modules/.bin/cdk'), [...args, '--output', outdir], { cwd: CDK_DIR, env: offlineEnv(), timeoutMs: 170_000 });
}, 180_000);

afterAll(() => {
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

describe('cdk synth', () => {
  it('runs offline without credentials or Docker and writes the template', () => {
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Ordinal.template.json'), 'utf8'));
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    for (const type of ['AWS::Lambda::Function', 'AWS::Lambda::Url', 'AWS::ECS::Service', 'AWS::Route53::HostedZone', 'AWS::EFS::FileSystem']) {
      expect(types).toContain(type);
    }
    expect(template.Resources).not.toHaveProperty('CDKMetadata'); // versionReporting off: the same template every time
  });

  it('passes CloudFormation validation with no finding', () => {
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    const violations = report.pluginReports.flatMap((r: { violations: Array<{ ruleName: string; description: string }> }) => r.violations);
    expect(violations.map((v: { ruleName: string; description: string }) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });

  it('stages the worker image context without dependencies, tools, tests or local data, to be built at deploy time', () => {
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, 'Ordinal.assets.json'), 'utf8'));
    const images = Object.values(assets.dockerImages as Record<string, { source: { directory: string; dockerFile: string; platform?: string } }>);
    expect(images).toHaveLength(1);
    expect(images[0].source).toMatchObject({ dockerFile: 'infra/cdk/worker.Dockerfile', platform: 'linux/amd64' });
    const context = path.join(outdir, images[0].source.directory);
    for (const file of ['infra/cdk/worker.Dockerfile', 'package.json', 'package-lock.json', 'bin/ordinal.js', 'worker/worker.ts', 'worker/bundle-workflows.ts']) {
      expect(fs.existsSync(path.join(context, file)), file).toBe(true);
    }
    for (const dir of ['node_modules', '.tools', '.git', 'test', 'bench', 'infra/cdk/cdk.out']) {
      expect(fs.existsSync(path.join(context, dir)), dir).toBe(false);
    }
  });

  it('bundles the API into one ES module that Node loads and that answers a Function URL event', async () => {
    const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Ordinal.template.json'), 'utf8'));
    const fn = Object.values(template.Resources as Record<string, any>).find((r) => r.Type === 'AWS::Lambda::Function');
    const assetDir = path.join(outdir, fn.Metadata['aws:asset:path']);
    const bundle = path.join(assetDir, 'index.mjs');
    expect(fs.existsSync(bundle)).toBe(true);
    expect(fs.readdirSync(assetDir).filter((f) => f !== 'index.mjs.map')).toEqual(['index.mjs']); // no node_modules beside it
    const probe = `
      const { handler } = await import(${JSON.stringify(bundle)});
      const event = (method, path) => ({
        version: '2.0', routeKey: '$default', rawPath: path, rawQueryString: '', isBase64Encoded: false, body: null,
        headers: { host: 'abc.lambda-url.eu-west-1.on.aws' },
        requestContext: { accountId: 'anonymous', apiId: 'abc', domainName: 'abc.lambda-url.eu-west-1.on.aws', domainPrefix: 'abc',
          http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
          requestId: 'r1', routeKey: '$default', stage: '$default', time: '', timeEpoch: 0 },
      });
      const openapi = await handler(event('GET', '/openapi.json'));
      const sets = await handler(event('GET', '/v1/sets'));
      process.stdout.write(JSON.stringify({ openapi: openapi.statusCode, title: JSON.parse(openapi.body).info.title, sets: sets.statusCode, error: JSON.parse(sets.body).error.code }));
      process.exit(0);
    `;
    const result = await exec(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: os.tmpdir(),
      env: { ...offlineEnv(), ...fn.Properties.Environment.Variables, ORDINAL_TOKENS_SECRET: '', ORDINAL_TEMPORAL_SECRET: '', TEMPORAL_ADDRESS: '127.0.0.1:1', ORDINAL_LOG_LEVEL: 'silent' },
      timeoutMs: 30_000,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ openapi: 200, title: 'Ordinal', sets: 401, error: 'Unauthenticated' });
  });
});
