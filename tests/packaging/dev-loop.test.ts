import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse } from 'yaml';
import { stageNames } from './support/dockerfile.ts';
import { PLATFORM_SERVICES, render, ROOT, vendorChartDependencies, type KubeObject } from './support/helm.ts';
import { registryReads, SERVICE_NAMES } from './support/registry.ts';
import { SERVICE_REGISTRY } from '@mrp/gateway';

const exec = promisify(execFile);
const SERVICES = PLATFORM_SERVICES;

const readYaml = async (file: string): Promise<unknown> =>
  parse(await readFile(join(ROOT, file), 'utf8')) as unknown;
const exists = (path: string): boolean => existsSync(join(ROOT, path));

/** What the chart deploys from the images of this repository (`mrp/...`), by workload. */
function ourImages(objects: readonly KubeObject[]): Map<string, string> {
  const images = new Map<string, string>();
  for (const object of objects) {
    if (!['Deployment', 'StatefulSet', 'Job'].includes(object.kind)) continue;
    const spec = (object.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec;
    for (const container of spec.containers) {
      if (container.image.startsWith('mrp/'))
        images.set(`${object.kind}/${object.metadata.name}`, container.image);
    }
  }
  return images;
}

const workloadNames = (objects: readonly KubeObject[]): string[] =>
  objects
    .filter((object) => ['Deployment', 'StatefulSet', 'Job'].includes(object.kind))
    .map((object) => object.metadata.name);

const containerPorts = (objects: readonly KubeObject[], name: string): number[] =>
  objects
    .filter((object) => object.metadata.name === name && ['Deployment', 'StatefulSet'].includes(object.kind))
    .flatMap((object) =>
      (
        object.spec as { template: { spec: { containers: { ports?: { containerPort: number }[] }[] } } }
      ).template.spec.containers.flatMap((container) =>
        (container.ports ?? []).map((port) => port.containerPort),
      ),
    );

describe('the Kubernetes dev loop files (kind, Skaffold, Tilt), checked offline', function () {
  this.timeout(120_000);
  before(async function () {
    await vendorChartDependencies();
  });

  describe('kind-config.yaml', function () {
    it('when kind creates the cluster, localhost:8080 (loopback only) reaches the gateway’s node port of values-dev.yaml', async function () {
      const kind = (await readYaml('kind-config.yaml')) as {
        kind: string;
        apiVersion: string;
        name: string;
        nodes: {
          role: string;
          extraPortMappings?: {
            containerPort: number;
            hostPort: number;
            listenAddress: string;
            protocol: string;
          }[];
        }[];
      };
      expect([kind.kind, kind.apiVersion, kind.name]).to.deep.equal([
        'Cluster',
        'kind.x-k8s.io/v1alpha4',
        'mrp',
      ]);
      const dev = (await readYaml('charts/platform/values-dev.yaml')) as {
        gateway: { service: { type: string; nodePort: number } };
      };
      expect(dev.gateway.service.type).to.equal('NodePort');
      const mappings = kind.nodes.flatMap((node) => node.extraPortMappings ?? []);
      expect(mappings).to.deep.equal([
        {
          containerPort: dev.gateway.service.nodePort,
          hostPort: 8080,
          listenAddress: '127.0.0.1',
          protocol: 'TCP',
        },
      ]);
      const makefile = await readFile(join(ROOT, 'Makefile'), 'utf8');
      expect(
        /^KIND_CLUSTER := (\S+)$/m.exec(makefile)?.[1],
        'make up and make down use this cluster',
      ).to.equal(kind.name);
      const objects = await render({ valuesFiles: ['charts/platform/values-dev.yaml'] });
      const service = objects.find(
        (object) => object.kind === 'Service' && object.metadata.name === 'mrp-gateway',
      )!;
      expect(
        (service.spec as { ports: { name: string; nodePort?: number }[] }).ports.find(
          (port) => port.name === 'http',
        )?.nodePort,
      ).to.equal(30080);
    });
  });

  describe('skaffold.yaml', function () {
    interface Skaffold {
      apiVersion: string;
      kind: string;
      build: {
        artifacts: {
          image: string;
          context: string;
          hooks?: { before: { command: string[] }[] };
          docker: { dockerfile: string; target?: string; buildArgs?: Record<string, string> };
        }[];
      };
      deploy: {
        helm: {
          hooks: { before: { host: { command: string[] } }[] };
          releases: {
            name: string;
            chartPath: string;
            namespace: string;
            valuesFiles: string[];
            setValueTemplates: Record<string, string>;
            skipBuildDependencies: boolean;
          }[];
        };
      };
      portForward?: {
        resourceType: string;
        resourceName: string;
        namespace: string;
        port: number;
        localPort: number;
      }[];
      profiles: {
        name: string;
        patches: { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown }[];
      }[];
    }
    let skaffold: Skaffold;
    before(async function () {
      skaffold = (await readYaml('skaffold.yaml')) as Skaffold;
    });

    it('when Skaffold builds, it builds every image of ours the chart deploys, from an existing Dockerfile stage', async function () {
      expect([skaffold.apiVersion, skaffold.kind]).to.deep.equal(['skaffold/v4beta13', 'Config']);
      const built = skaffold.build.artifacts.map((artifact) => artifact.image).sort();
      expect(built).to.deep.equal([...SERVICES, 'gateway'].map((name) => `mrp/${name}`).sort());
      for (const artifact of skaffold.build.artifacts) {
        expect(exists(artifact.context), artifact.context).to.be.true;
        expect(exists(artifact.docker.dockerfile), artifact.docker.dockerfile).to.be.true;
        if (artifact.image === 'mrp/gateway') {
          // Its own Dockerfile, one stage; the API reference's files are copied from npm before it builds.
          expect(artifact.docker.dockerfile).to.equal('images/gateway.Dockerfile');
          expect(artifact.hooks?.before.map((hook) => hook.command)).to.deep.equal([
            ['bash', 'scripts/toolchain.sh', 'true'],
          ]);
          continue;
        }
        expect(stageNames(join(ROOT, artifact.docker.dockerfile))).to.include(artifact.docker.target);
        expect(artifact.docker.buildArgs, artifact.image).to.deep.equal({ SERVICE: artifact.image.slice(4) });
      }
      const deployed = new Set(
        [...ourImages(await render({ valuesFiles: ['charts/platform/values-dev.yaml'] })).values()].map(
          (image) => image.split(':')[0],
        ),
      );
      expect([...deployed].sort()).to.deep.equal(built);
    });

    it('when Skaffold deploys, the release’s chart, values and hook exist, and its image values reach each service’s pods', async function () {
      const [release] = skaffold.deploy.helm.releases;
      expect(skaffold.deploy.helm.releases).to.have.length(1);
      expect(exists(release!.chartPath)).to.be.true;
      for (const file of release!.valuesFiles) expect(exists(file), file).to.be.true;
      const [hook] = skaffold.deploy.helm.hooks.before;
      expect(hook!.host.command).to.deep.equal(['bash', 'scripts/chart-deps.sh']);
      expect(exists(hook!.host.command[1]!)).to.be.true;
      // Skaffold fills IMAGE_REPO_<image> and IMAGE_TAG_<image> in; stand-ins show where each value lands.
      const set = Object.entries(release!.setValueTemplates).map(([key, template]) => {
        const match = /^\{\{\.IMAGE_(REPO|TAG)_(\w+)\}\}$/.exec(template);
        if (!match) throw new Error(`unexpected template ${template}`);
        const image = skaffold.build.artifacts.find(
          (artifact) => artifact.image.replace(/[^a-zA-Z0-9]/g, '_') === match[2],
        );
        expect(image, `${template} names a built image`).to.exist;
        return `${key}=${match[1] === 'REPO' ? `registry.test/${image!.image}` : 'skaffold-tag'}`;
      });
      const objects = await render({
        valuesFiles: release!.valuesFiles,
        set,
        namespace: release!.namespace,
        release: release!.name,
      });
      expect(ourImages(objects).size, 'no image of ours is left at its default').to.equal(0);
      for (const service of SERVICES) {
        const deployment = objects.find(
          (object) => object.kind === 'Deployment' && object.metadata.name === `mrp-${service}`,
        )!;
        const image = (deployment.spec as { template: { spec: { containers: { image: string }[] } } })
          .template.spec.containers[0]!.image;
        expect(image, service).to.equal(`registry.test/mrp/${service}:skaffold-tag`);
      }
    });

    it('when Skaffold port-forwards, every Service and port it names exists in the release', async function () {
      const objects = await render({ valuesFiles: skaffold.deploy.helm.releases[0]!.valuesFiles });
      expect(skaffold.portForward).to.have.length.greaterThan(0);
      for (const forward of skaffold.portForward!) {
        const service = objects.find(
          (object) => object.kind === 'Service' && object.metadata.name === forward.resourceName,
        );
        expect(service, forward.resourceName).to.exist;
        expect(
          (service!.spec as { ports: { port: number }[] }).ports.map((port) => port.port),
          forward.resourceName,
        ).to.include(forward.port);
        expect(forward.namespace).to.equal(skaffold.deploy.helm.releases[0]!.namespace);
      }
      const localPorts = skaffold.portForward!.map((forward) => forward.localPort);
      expect(new Set(localPorts).size).to.equal(localPorts.length);
      expect(localPorts, 'kind maps 8080 to the gateway already').not.to.include(8080);
    });

    it('when the ci profile applies, its patches resolve: commit tags, helm --wait for workloads and Jobs, no port-forwards', function () {
      const profile = skaffold.profiles.find((candidate) => candidate.name === 'ci');
      expect(profile).to.exist;
      const patched = structuredClone(skaffold) as unknown as Record<string, unknown>;
      for (const patch of profile!.patches) {
        const keys = patch.path.split('/').slice(1);
        const last = keys.pop()!;
        let parent = patched;
        for (const key of keys) {
          expect(parent, `${patch.path}: /${key} exists`).to.have.property(key);
          parent = parent[key] as Record<string, unknown>;
        }
        if (patch.op === 'remove' || patch.op === 'replace')
          expect(parent, `${patch.op} ${patch.path}`).to.have.property(last);
        if (patch.op === 'add') expect(parent, `add ${patch.path}`).not.to.have.property(last);
        if (patch.op === 'remove') Reflect.deleteProperty(parent, last);
        else parent[last] = patch.value;
      }
      const result = patched as unknown as Skaffold & {
        build: { tagPolicy: unknown };
        deploy: { helm: { flags: { install: string[] } } };
      };
      expect(result.build.tagPolicy).to.deep.equal({ gitCommit: {} });
      expect(result.deploy.helm.flags.install).to.include.members(['--wait', '--wait-for-jobs']);
      expect(result.portForward).to.be.undefined;
    });
  });

  describe('Tiltfile', function () {
    interface Call {
      fn: string;
      args: Record<string, unknown>;
    }
    let calls: Call[];
    let tiltObjects: KubeObject[];
    const callsOf = (fn: string): Record<string, unknown>[] =>
      calls.filter((call) => call.fn === fn).map((call) => call.args);

    before(async function () {
      // The Tiltfile runs for real in a Starlark interpreter, with Tilt's functions recorded (run-tiltfile.py).
      const { stdout } = await exec('python3', [
        join(import.meta.dirname, 'support', 'run-tiltfile.py'),
        join(ROOT, 'Tiltfile'),
      ]);
      calls = JSON.parse(stdout) as Call[];
      const [chart] = callsOf('helm');
      tiltObjects = await render({
        chart: join(ROOT, chart!.paths as string),
        release: chart!.name as string,
        namespace: chart!.namespace as string,
        valuesFiles: chart!.values as string[],
      });
    });

    it('when Tilt starts, it only deploys to the kind cluster of kind-config.yaml', async function () {
      const kind = (await readYaml('kind-config.yaml')) as { name: string };
      expect(callsOf('allow_k8s_contexts')).to.deep.equal([{ contexts: `kind-${kind.name}` }]);
    });

    it('when Tilt builds, each service’s image is its Dockerfile’s dev stage, from paths that exist, and it builds every image of ours the chart deploys', function () {
      const builds = callsOf('docker_build');
      expect(builds.map((build) => build.ref).sort()).to.deep.equal(
        [...SERVICES, 'gateway'].map((name) => `mrp/${name}`).sort(),
      );
      const gateway = builds.find((build) => build.ref === 'mrp/gateway')!;
      expect(gateway.dockerfile).to.equal('images/gateway.Dockerfile');
      for (const path of gateway.only as string[])
        expect(exists(path), `mrp/gateway only ${path}`).to.be.true;
      for (const build of builds.filter((each) => each !== gateway)) {
        expect(build.context).to.equal('.');
        expect(stageNames(join(ROOT, build.dockerfile as string))).to.include(build.target);
        expect(build.build_args, String(build.ref)).to.deep.equal({ SERVICE: String(build.ref).slice(4) });
        for (const path of build.only as string[])
          expect(exists(path), `${String(build.ref)} only ${path}`).to.be.true;
      }
      const deployed = new Set([...ourImages(tiltObjects).values()].map((image) => image.split(':')[0]));
      expect([...deployed].sort()).to.deep.equal(builds.map((build) => build.ref).sort());
    });

    it('when a TypeScript file changes, live update copies it where the image keeps it, and a manifest change rebuilds', async function () {
      for (const build of callsOf('docker_build').filter((each) => each.ref !== 'mrp/gateway')) {
        const steps = build.live_update as ({ sync?: { local: string; remote: string } } & {
          fall_back_on?: string[];
        })[];
        expect(steps[0]!.fall_back_on, 'fall_back_on comes first').to.include('package-lock.json');
        for (const file of steps[0]!.fall_back_on!) expect(exists(file), file).to.be.true;
        const dockerfile = await readFile(join(ROOT, build.dockerfile as string), 'utf8');
        const syncs = steps.slice(1).map((step) => step.sync!);
        expect(syncs.map((step) => step.local)).to.include(`services/${String(build.ref).slice(4)}/src`);
        for (const { local, remote } of syncs) {
          expect(exists(local), local).to.be.true;
          expect(remote).to.equal(`/app/${local}`);
          // The image has the folder at that place: the dev stage copies every library, and the service
          // named by SERVICE, into /app.
          const devStage = dockerfile.slice(dockerfile.indexOf('AS dev'));
          const copied = [...devStage.matchAll(/^COPY (\S+) (\S+)$/gm)]
            .filter(([, from, to]) => from === to)
            .map(([, from]) => from!.replace('${SERVICE}', String(build.ref).slice(4)));
          expect(
            copied.some((folder) => local === folder || local.startsWith(`${folder}/`)),
            `${String(build.ref)}: the dev stage copies ${local}`,
          ).to.be.true;
          expect(
            (build.only as string[]).some((path) => local.startsWith(path)),
            `${local} is in the build context`,
          ).to.be.true;
        }
      }
    });

    it('when Tilt deploys, it renders the umbrella chart with values that exist, leaves the helm test out, and creates the Secrets those values name', function () {
      const [chart] = callsOf('helm');
      expect(chart!.paths).to.equal('charts/platform');
      for (const file of chart!.values as string[]) expect(exists(file), file).to.be.true;
      expect(callsOf('local')[0]!.command).to.equal('bash scripts/chart-deps.sh');
      const [filter] = callsOf('filter_yaml');
      const pattern = new RegExp(filter!.name as string);
      expect(
        tiltObjects
          .filter((object) => pattern.test(object.metadata.name))
          .map((object) => object.kind)
          .sort(),
      ).to.deep.equal(['ConfigMap', 'NetworkPolicy', 'Pod']);
      const secrets = callsOf('k8s_yaml')
        .map((call) => (call.yaml as { object?: KubeObject }).object)
        .filter((object): object is KubeObject => object?.kind === 'Secret');
      const named = secrets.map((secret) => secret.metadata.name).sort();
      // The stores', auth-service's clients, and one per service of services/registry.json with a database.
      expect(named).to.deep.equal(
        [
          'mrp-auth-service-clients',
          'mrp-postgres',
          'mrp-redis',
          ...SERVICE_REGISTRY.filter((service) => service.database !== null).map(
            (service) => `mrp-${service.name}-database`,
          ),
        ].sort(),
      );
      // The chart renders none of them (no two owners), and every Secret its pods use exists.
      const rendered = tiltObjects
        .filter((object) => object.kind === 'Secret')
        .map((object) => object.metadata.name);
      expect(rendered.filter((name) => named.includes(name))).to.be.empty;
      const available = new Set([...named, ...rendered]);
      for (const object of tiltObjects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))) {
        const text = JSON.stringify(object.spec);
        for (const match of text.matchAll(/"secretKeyRef":\{"name":"([^"]+)"/g)) {
          expect(available.has(match[1]!), `${object.metadata.name} uses ${match[1]!}`).to.be.true;
        }
      }
      for (const secret of secrets.filter((s) => s.metadata.name.endsWith('-database'))) {
        const data = (secret as unknown as { stringData: { password: string; DATABASE_URL: string } })
          .stringData;
        const url = new URL(data.DATABASE_URL);
        expect([url.hostname, url.password]).to.deep.equal(['mrp-postgres', data.password]);
      }
    });

    it('when Tilt groups resources, every one it names is a workload of the release, with ports that exist and dependencies it declares', function () {
      const workloads = workloadNames(tiltObjects);
      const resources = callsOf('k8s_resource');
      const declared = new Set([
        ...resources.map((resource) => resource.workload as string),
        ...callsOf('local_resource').map((resource) => resource.name as string),
      ]);
      for (const resource of resources) {
        expect(workloads, String(resource.workload)).to.include(resource.workload);
        expect(resource.labels, String(resource.workload)).to.be.an('array').that.is.not.empty;
        for (const dependency of (resource.resource_deps as string[] | undefined) ?? []) {
          expect(declared.has(dependency), `${String(resource.workload)} depends on ${dependency}`).to.be
            .true;
        }
        for (const forward of (resource.port_forwards as string[] | undefined) ?? []) {
          const remote = Number(forward.split(':').at(-1));
          expect(
            containerPorts(tiltObjects, resource.workload as string),
            `${String(resource.workload)} ${forward}`,
          ).to.include(remote);
        }
      }
      expect([...declared].filter((name) => name.startsWith('mrp-')).sort()).to.deep.equal(
        [...workloads].sort(),
      );
      for (const local of callsOf('local_resource')) {
        const script = (local.cmd as string).split(' ')[1]!;
        expect(exists(script), script).to.be.true;
      }
    });

    it('when Tilt deploys a migration Job, it runs the TypeScript entry point its dev image holds (that image has no tsc output)', function () {
      const jobs = tiltObjects.filter((object) => object.kind === 'Job');
      expect(jobs).to.have.length.greaterThan(0);
      for (const job of jobs) {
        const [container] = (
          job.spec as { template: { spec: { containers: { image: string; command?: string[] }[] } } }
        ).template.spec.containers;
        const service = /^mrp\/([a-z-]+):/.exec(container!.image)?.[1];
        expect(service, job.metadata.name).to.be.a('string');
        const entry = container!.command?.at(-1) ?? '';
        expect(entry, job.metadata.name).to.match(/^src\/.+\.ts$/);
        expect(exists(`services/${service!}/${entry}`), `services/${service!}/${entry}`).to.be.true;
      }
    });

    it('when Tilt runs our images, only their root filesystem is writable (for live update), everything else stays restricted', function () {
      for (const object of tiltObjects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))) {
        const spec = (
          object.spec as {
            template: { spec: { containers: { name: string; securityContext: Record<string, unknown> }[] } };
          }
        ).template.spec;
        for (const container of spec.containers) {
          // Our services' images (and their migration Jobs), which live update writes to; the gateway's
          // image and infrastructure keep a read-only root.
          const image = (container as { image?: string }).image ?? '';
          const writable = image.startsWith('mrp/') && !image.startsWith('mrp/gateway:');
          expect(container.securityContext, `${object.metadata.name}/${container.name}`).to.deep.include({
            readOnlyRootFilesystem: !writable,
            allowPrivilegeEscalation: false,
            runAsNonRoot: true,
            capabilities: { drop: ['ALL'] },
          });
        }
      }
    });
  });

  describe('.github/workflows/ci.yml', function () {
    interface Workflow {
      jobs: Record<
        string,
        {
          strategy?: { matrix?: { service?: string[] } };
          steps: { uses?: string; run?: string; with?: Record<string, string> }[];
        }
      >;
    }
    it('when CI runs, it builds every service image, installs the chart on kind from kind-config.yaml with the skaffold ci profile, and runs helm test', async function () {
      const workflow = (await readYaml('.github/workflows/ci.yml')) as Workflow;
      const images = workflow.jobs.images!.steps.map((step) => step.run ?? '').join('\n');
      expect(images).to.include('--platform linux/amd64,linux/arm64');
      // The services it builds are those of services/registry.json, read there.
      expect(await registryReads(images)).to.deep.equal([SERVICE_NAMES.join(' ')]);
      expect(SERVICE_NAMES).to.have.members([...SERVICES]);
      expect(images).to.include('make test-images');
      const kind = workflow.jobs.kind!.steps;
      const kindAction = kind.find((step) => step.uses?.startsWith('helm/kind-action'));
      expect(kindAction?.with).to.include({ config: 'kind-config.yaml', cluster_name: 'mrp' });
      const runs = kind.map((step) => step.run ?? '').join('\n');
      expect(runs).to.include('skaffold run -p ci --kube-context kind-mrp');
      expect(runs).to.match(/helm test mrp --namespace mrp/);
      const skaffold = (await readYaml('skaffold.yaml')) as { profiles: { name: string }[] };
      expect(skaffold.profiles.map((profile) => profile.name)).to.include('ci');
    });

    it('when a workflow uses an action, it pins it by commit digest with the version in a comment, and Dependabot keeps the actions and npm up to date', async function () {
      const workflows = (await readdir(join(ROOT, '.github/workflows'))).filter((file) =>
        file.endsWith('.yml'),
      );
      expect(workflows).to.include.members(['ci.yml', 'security.yml']);
      let uses = 0;
      for (const file of workflows) {
        const text = await readFile(join(ROOT, '.github/workflows', file), 'utf8');
        for (const line of text.split('\n').filter((each) => /^\s*(-\s+)?uses:/.test(each))) {
          uses += 1;
          expect(line, file).to.match(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
        }
      }
      expect(uses).to.be.greaterThan(10);
      const dependabot = (await readYaml('.github/dependabot.yml')) as {
        version: number;
        updates: { 'package-ecosystem': string; directory: string }[];
      };
      expect(dependabot.version).to.equal(2);
      expect(dependabot.updates.map((update) => update['package-ecosystem']).sort()).to.deep.equal([
        'github-actions',
        'npm',
      ]);
    });
  });
});
