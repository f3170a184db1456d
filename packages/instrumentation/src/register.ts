/**
 * One-call setup of the OpenTelemetry Node SDK with Switchyard's instrumentation.
 * (First version: interface fixed, implementation being completed.)
 */
export interface RegisterOptions {
  /** `service.name` of this process. Defaults to `OTEL_SERVICE_NAME`. */
  serviceName?: string;
}

export interface Registration {
  /** Flushes and stops everything `register` started. */
  shutdown(): Promise<void>;
}

/** Starts the OpenTelemetry Node SDK with OTLP/HTTP exporters and the openai instrumentation. */
export function register(_options: RegisterOptions = {}): Registration {
  return { shutdown: async () => {} };
}
