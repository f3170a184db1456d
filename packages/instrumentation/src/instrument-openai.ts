import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { SwitchyardOpenAIInstrumentation } from './openai-instrumentation.js';
import type { SwitchyardInstrumentationConfig } from './types.js';

/** Options of {@link instrumentOpenAI}. */
export interface InstrumentOpenAIOptions
  extends Omit<SwitchyardInstrumentationConfig, 'moduleNames' | 'enabled'> {
  /** Defaults to the global tracer provider (looked up at each call, so it may be set later). */
  tracerProvider?: TracerProvider;
  /** Defaults to the global meter provider at the time of this call. */
  meterProvider?: MeterProvider;
}

// Owner: this module. Keyed by client, so an entry lives exactly as long as its client.
const instrumentations = new WeakMap<object, SwitchyardOpenAIInstrumentation>();

/**
 * Instruments one `openai` client instance. Use it where module loading cannot be intercepted
 * (bundled or single-file builds); elsewhere prefer {@link SwitchyardOpenAIInstrumentation}.
 * Calling it twice on a client, or on a client whose class is already instrumented, is harmless.
 * Returns the same client.
 *
 * @example
 * const openai = instrumentOpenAI(new OpenAI());
 */
export function instrumentOpenAI<T extends object>(
  client: T,
  options: InstrumentOpenAIOptions = {},
): T {
  if (typeof client !== 'object' || client === null) {
    throw new TypeError(
      'instrumentOpenAI: client must be an OpenAI client instance (new OpenAI())',
    );
  }
  if (instrumentations.has(client)) return client;
  const { tracerProvider, meterProvider, ...config } = options;
  // No module names: this instance patches the client only and hooks no module loading.
  const instrumentation = new SwitchyardOpenAIInstrumentation({ ...config, moduleNames: [] });
  if (tracerProvider !== undefined) instrumentation.setTracerProvider(tracerProvider);
  if (meterProvider !== undefined) instrumentation.setMeterProvider(meterProvider);
  instrumentation.instrumentClient(client);
  instrumentations.set(client, instrumentation);
  return client;
}

/** Undoes {@link instrumentOpenAI}: the client's calls are no longer traced. */
export function uninstrumentOpenAI<T extends object>(client: T): T {
  const instrumentation = instrumentations.get(client);
  if (instrumentation !== undefined) {
    instrumentation.uninstrumentClient(client);
    instrumentation.disable();
    instrumentations.delete(client);
  }
  return client;
}
