/**
 * Why a chunk written degraded is in the repair queue. A part's chunk names its upload: until
 * the upload completes the chunk is in no object, and repair (which finds chunks in the
 * manifests) must keep it queued rather than take it for a chunk deleted since.
 */
export function degradedReason(missing: number, uploadId?: string): string {
  return `degraded ${uploadId === undefined ? 'write' : `part of upload ${uploadId}`}: ${missing} shards missing`;
}

/** The upload named by a reason from `degradedReason`, or null. */
export function uploadOfReason(reason: string): string | null {
  return /^degraded part of upload (\S+):/.exec(reason)?.[1] ?? null;
}
