/**
 * Static checks of the deployment files. No Docker engine or cluster runs here, so these tests
 * check what can be checked without one: every file parses, every name one file uses is defined
 * where it should be, and every path a build copies exists. What was and was not exercised is
 * written in deploy/README.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

type Yaml = Record<string, unknown>;
const asMap = (value: unknown): Yaml => (value ?? {}) as Yaml;

describe('otel-collector.yaml', () => {
  const config = asMap(parse(read('otel-collector.yaml')));

  it('defines every component its pipelines use', () => {
    const pipelines = asMap(asMap(config.service).pipelines);
    expect(Object.keys(pipelines).length).toBeGreaterThan(0);
    for (const [name, pipeline] of Object.entries(pipelines)) {
      const p = asMap(pipeline);
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const component of (p[kind] as string[] | undefined) ?? []) {
          expect(asMap(config[kind]), `${name} uses ${kind}.${component}`).toHaveProperty([
            component,
          ]);
        }
      }
    }
  });

  it('sends LLM spans to the sidecar and every trace to Jaeger', () => {
    const exporters = asMap(config.exporters);
    expect(asMap(exporters['otlphttp/switchyard']).endpoint).toBe('http://sidecar:8080');
    expect(asMap(exporters['otlp/jaeger']).endpoint).toBe('jaeger:4317');
    const pipelines = asMap(asMap(config.service).pipelines);
    const toSidecar = asMap(pipelines['traces/switchyard']);
    expect(toSidecar.exporters).toEqual(['otlphttp/switchyard']);
    expect(toSidecar.processors).toContain('filter/genai-only');
  });
});

describe('deploy/docker-compose.yml', () => {
  const compose = asMap(parse(read('deploy/docker-compose.yml')));
  const services = asMap(compose.services);

  it('references only services, files and build contexts that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      const s = asMap(service);
      for (const dep of (s.depends_on as string[] | undefined) ?? []) {
        expect(services, `${name} depends on ${dep}`).toHaveProperty([dep]);
      }
      if (s.build) {
        const build = asMap(s.build);
        const context = resolve(root, 'deploy', String(build.context));
        expect(existsSync(join(context, String(build.dockerfile))), `${name} dockerfile`).toBe(
          true,
        );
      }
      for (const volume of (s.volumes as string[] | undefined) ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.')) {
          expect(existsSync(resolve(root, 'deploy', source)), `${name} volume ${source}`).toBe(
            true,
          );
        }
      }
    }
  });

  it('points the Collector exporters at services that exist', () => {
    expect(services).toHaveProperty(['sidecar']);
    expect(services).toHaveProperty(['jaeger']);
    const sidecarPorts = asMap(services.sidecar).ports as string[];
    expect(sidecarPorts.some((p) => p.endsWith(':8080'))).toBe(true);
  });
});

describe.each(['deploy/Dockerfile', 'deploy/example.Dockerfile'])('%s', (path) => {
  const dockerfile = read(path);

  it('copies only paths that exist in the repository', () => {
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) =>
      m[1]!.split(/\s+/),
    );
    expect(copies.length).toBeGreaterThan(0);
    for (const parts of copies) {
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(join(root, source)), `COPY ${source}`).toBe(true);
      }
    }
  });

  it('starts a file the build produces or the repository holds', () => {
    const entry = /ENTRYPOINT \["node", "([^"]+)"/.exec(dockerfile)?.[1];
    expect(entry).toBeDefined();
    const pkg = JSON.parse(read('packages/sidecar/package.json')) as {
      bin: Record<string, string>;
    };
    const builtBin = join('packages/sidecar', pkg.bin.switchyard!);
    expect(entry === builtBin || existsSync(join(root, entry!)), `ENTRYPOINT ${entry}`).toBe(true);
  });
});

describe('deploy/k8s/switchyard.yaml', () => {
  const docs = parseAllDocuments(read('deploy/k8s/switchyard.yaml')).map((d) => asMap(d.toJSON()));

  it('has well-formed objects whose selectors match', () => {
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      expect(doc.apiVersion, 'apiVersion').toBeTruthy();
      expect(asMap(doc.metadata).name, 'metadata.name').toBeTruthy();
    }
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    for (const d of deployments) {
      const spec = asMap(d.spec);
      const labels = asMap(asMap(asMap(spec.template).metadata).labels);
      expect(labels).toMatchObject(asMap(asMap(spec.selector).matchLabels));
    }
    for (const service of docs.filter((d) => d.kind === 'Service')) {
      const selector = asMap(asMap(service.spec).selector);
      const target = deployments.find((d) => {
        const labels = asMap(asMap(asMap(asMap(d.spec).template).metadata).labels);
        return Object.entries(selector).every(([k, v]) => labels[k] === v);
      });
      expect(
        target,
        `a Deployment behind Service ${String(asMap(service.metadata).name)}`,
      ).toBeDefined();
      const containers = asMap(asMap(asMap(target!.spec).template).spec).containers as Yaml[];
      const portNames = containers.flatMap((c) => ((c.ports as Yaml[]) ?? []).map((p) => p.name));
      for (const port of asMap(service.spec).ports as Yaml[]) {
        expect(portNames).toContain(port.targetPort);
      }
    }
  });
});
