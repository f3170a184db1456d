/**
 * The parts of the `openai` SDK the instrumentation touches, typed structurally. `openai` is only a
 * dev dependency: one build serves SDK majors 4 to 7, which agree on these shapes (checked in the
 * tests against each major), so nothing here names a class of the SDK.
 */

/** A `create` method of a resource class (`Completions`, `Responses`, `Embeddings`). */
export type CreateMethod = (this: unknown, body: unknown, options?: unknown) => unknown;

/** A resource instance: `client.chat.completions`, `client.responses`, … */
export interface ResourceLike {
  create?: CreateMethod;
  _client?: ClientLike;
}

export interface ClientLike {
  baseURL?: unknown;
  chat?: { completions?: ResourceLike };
  responses?: ResourceLike;
  embeddings?: ResourceLike;
  completions?: ResourceLike;
}

/** What `makeRequest` resolves `APIPromise.responsePromise` with. */
export interface ResponsePropsLike {
  response?: { status?: number; headers?: unknown };
  controller?: { signal?: { aborted?: boolean } };
}

/**
 * The SDK's `APIPromise`: a Promise subclass whose body is parsed lazily by `parseResponse` the
 * first time someone calls `then`, `withResponse` or a `_thenUnwrap` descendant.
 */
export interface ApiPromiseLike {
  responsePromise: Promise<ResponsePropsLike>;
  parseResponse: (...args: unknown[]) => unknown;
  parsedPromise?: unknown;
  asResponse: () => Promise<unknown>;
  /** SDK 7 sets this on each instance; earlier majors inherit it from the class. */
  _thenUnwrap?: (transform: (result: unknown, props: unknown) => unknown) => unknown;
}

/** The SDK's `Stream`: everything (iteration, `tee()`, `toReadableStream()`) goes through `iterator`. */
export interface StreamLike {
  iterator: () => AsyncIterator<unknown>;
  controller?: { signal?: { aborted?: boolean } };
}

/** The class the `openai` module exports (default export and `OpenAI`). */
export interface OpenAIClassLike {
  Chat?: { Completions?: { prototype: ResourceLike } };
  Responses?: { prototype: ResourceLike };
  Embeddings?: { prototype: ResourceLike };
  Completions?: { prototype: ResourceLike };
}

export function isApiPromise(value: unknown): value is ApiPromiseLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiPromiseLike).parseResponse === 'function' &&
    typeof (value as ApiPromiseLike).asResponse === 'function' &&
    typeof (value as { responsePromise?: { then?: unknown } }).responsePromise?.then === 'function'
  );
}

export function isStream(value: unknown): value is StreamLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as StreamLike).iterator === 'function'
  );
}

/** Reads one header from a fetch `Headers` (SDK 5+) or the plain header record of SDK 4 errors. */
export function readHeader(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') {
    const value: unknown = get.call(headers, name);
    return typeof value === 'string' ? value : undefined;
  }
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}
