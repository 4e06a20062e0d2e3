import { ApiError, api, bucketPath, csrfToken } from './api';

/** Files above this go in parts (S3's smallest part is 5 MiB); each part is one request. */
export const PART_SIZE = 5 * 1024 * 1024;
const MULTIPART_ABOVE = 2 * PART_SIZE;

export type UploadState = 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled';

export interface Upload {
  id: number;
  bucket: string;
  key: string;
  size: number;
  /** Bytes the server has received so far. */
  loaded: number;
  state: UploadState;
  error?: string;
}

interface Running {
  upload: Upload;
  file: File;
  xhr: XMLHttpRequest | null;
  cancelled: boolean;
}

/**
 * The upload queue: one file at a time, each in one request or in parts, with the bytes sent
 * so far (XHR progress events, which fetch does not give for request bodies).
 */
export class UploadQueue {
  private readonly running: Running[] = [];
  private nextId = 1;
  private busy = false;

  constructor(private readonly changed: (uploads: Upload[], finished: Upload | null) => void) {}

  get uploads(): Upload[] {
    return this.running.map((r) => r.upload);
  }

  add(bucket: string, files: Array<{ file: File; key: string }>): void {
    for (const { file, key } of files) {
      this.running.push({
        upload: { id: this.nextId++, bucket, key, size: file.size, loaded: 0, state: 'queued' },
        file,
        xhr: null,
        cancelled: false,
      });
    }
    this.emit(null);
    void this.pump();
  }

  cancel(id: number): void {
    const r = this.running.find((x) => x.upload.id === id);
    if (!r || r.upload.state === 'done') return;
    r.cancelled = true;
    r.xhr?.abort();
    if (r.upload.state === 'queued') r.upload.state = 'cancelled';
    this.emit(null);
  }

  /** Forgets the finished ones. */
  clear(): void {
    for (let i = this.running.length - 1; i >= 0; i--)
      if (this.running[i]!.upload.state !== 'queued' && this.running[i]!.upload.state !== 'uploading')
        this.running.splice(i, 1);
    this.emit(null);
  }

  private emit(finished: Upload | null): void {
    this.changed(
      this.running.map((r) => ({ ...r.upload })),
      finished,
    );
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      let r: Running | undefined;
      while ((r = this.running.find((x) => x.upload.state === 'queued'))) {
        r.upload.state = 'uploading';
        this.emit(null);
        try {
          await (r.file.size > MULTIPART_ABOVE ? this.multipart(r) : this.single(r));
          r.upload.state = 'done';
          r.upload.loaded = r.upload.size;
        } catch (e) {
          r.upload.state = r.cancelled ? 'cancelled' : 'failed';
          if (!r.cancelled) r.upload.error = (e as Error).message;
        }
        this.emit(r.upload);
      }
    } finally {
      this.busy = false;
    }
  }

  private single(r: Running): Promise<unknown> {
    const { bucket, key } = r.upload;
    return this.send(r, `${bucketPath(bucket)}/upload?key=${encodeURIComponent(key)}`, r.file, 0);
  }

  private async multipart(r: Running): Promise<void> {
    const { bucket, key } = r.upload;
    const base = `${bucketPath(bucket)}/uploads`;
    const { uploadId } = await api<{ uploadId: string }>('POST', `${base}?key=${encodeURIComponent(key)}`);
    const parts: Array<{ partNumber: number; etag: string }> = [];
    try {
      for (let offset = 0, n = 1; offset < r.file.size; offset += PART_SIZE, n++) {
        if (r.cancelled) throw new Error('cancelled');
        const { etag } = (await this.send(
          r,
          `${base}/${uploadId}?part=${n}`,
          r.file.slice(offset, offset + PART_SIZE),
          offset,
        )) as { etag: string };
        parts.push({ partNumber: n, etag });
      }
      await api('POST', `${base}/${uploadId}/complete`, { parts });
    } catch (e) {
      await api('DELETE', `${base}/${uploadId}`).catch(() => {});
      throw e;
    }
  }

  /** One PUT of `body`, whose first byte is byte `offset` of the file. */
  private send(r: Running, url: string, body: Blob, offset: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      r.xhr = xhr;
      xhr.open('PUT', url);
      xhr.setRequestHeader('x-csrf-token', csrfToken());
      xhr.setRequestHeader('content-type', r.file.type || 'application/octet-stream');
      xhr.upload.onprogress = (e) => {
        r.upload.loaded = offset + e.loaded;
        this.emit(null);
      };
      xhr.onload = () => {
        let value: { code?: string; message?: string } = {};
        try {
          value = JSON.parse(xhr.responseText) as typeof value;
        } catch {
          // not JSON: the status says enough
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(value);
        else reject(new ApiError(xhr.status, value.code ?? 'Error', value.message ?? `HTTP ${xhr.status}`));
      };
      xhr.onerror = () => reject(new Error('the connection failed'));
      xhr.onabort = () => reject(new Error('cancelled'));
      xhr.send(body);
    });
  }
}
