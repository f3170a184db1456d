import { OPTION_SPECS } from './option-table.js';

/** The text of `switchyard start --help`, generated from the option table. */
export function startHelpText(): string {
  const lines = [
    'Usage: switchyard start [options]',
    '',
    'Runs the Switchyard sidecar: an OpenAI-compatible proxy with routing and a two-tier cache.',
    'Precedence: flag > environment variable > config file > default.',
    '',
    'Options:',
    '  --config <path>              JSON config file (providers, prices, rules, pins, cache, learning)',
    '                               env SWITCHYARD_CONFIG',
  ];
  for (const spec of OPTION_SPECS) {
    const flag =
      spec.secret === true || spec.flag === undefined
        ? '(env only)'
        : spec.kind === 'bool'
          ? `--[no-]${spec.flag}`
          : `--${spec.flag} <${spec.kind === 'enum' ? (spec.values ?? []).join('|') : spec.kind}>`;
    lines.push(`  ${flag.padEnd(28)} ${spec.description}`);
    const parts = [`default ${spec.default === undefined ? '(unset)' : String(spec.default)}`];
    if (spec.env !== undefined) parts.push(`env ${spec.env}`);
    parts.push(`file ${spec.key}`);
    lines.push(`  ${''.padEnd(28)} ${parts.join('; ')}`);
  }
  lines.push(
    '  --help                       Show this help.',
    '',
    'Telemetry: the sidecar exports its own spans when OTEL_EXPORTER_OTLP_ENDPOINT,',
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER is set (OTEL_SERVICE_NAME names it).',
    '',
  );
  return lines.join('\n');
}
