// Assertions and bytes shared by the pipeline's tests (unit tier and worker pool).
import { expect } from 'vitest';
import { PipelineError, type PipelineErrorCode } from '../../src/pipeline/errors.js';

export function expectCode(action: () => unknown, code: PipelineErrorCode): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PipelineError);
  expect((caught as PipelineError).code).toBe(code);
}

export async function expectRejects(promise: Promise<unknown>, code: PipelineErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PipelineError);
  expect((error as PipelineError).code).toBe(code);
}

/** Compressible bytes: words from a small vocabulary, like logs or JSON. */
export function textBytes(size: number): Buffer {
  const words = ['object', 'bucket', 'shard', 'backend', 'farmer', 'chunk', 'manifest', '{"key":', '42,', '\n'];
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let i = 0; offset < size; i++) offset += out.write(words[(i * 7 + (i >> 3)) % words.length] + ' ', offset);
  return out;
}
