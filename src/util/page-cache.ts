import koffi from 'koffi';

/** posix_fadvise(2)'s advice on Linux (x86-64, arm64): drop the range's clean pages. */
const POSIX_FADV_DONTNEED = 4;
const PAGE_SIZE = 4096;

type Fadvise = (fd: number, offset: number, length: number, advice: number) => number;

let fadvise: Fadvise | null | undefined;

/** posix_fadvise from the C library, once; null where it cannot be called (not glibc/Linux). */
function loadFadvise(): Fadvise | null {
  if (fadvise !== undefined) return fadvise;
  try {
    const libc = koffi.load('libc.so.6');
    fadvise = libc.func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)') as Fadvise;
  } catch {
    fadvise = null;
  }
  return fadvise;
}

/** Whether dropFromPageCache can do anything on this system. */
export function canDropFromPageCache(): boolean {
  return loadFadvise() !== null;
}

/**
 * Asks the kernel to drop the cached pages of bytes [from, to) of a file that are already on
 * disk (posix_fadvise DONTNEED), and returns the offset up to which it asked: `to` rounded down
 * to a page, so the page still being appended to stays cached (dropping it would make the next
 * append read it back from disk first). Advice only: dirty pages stay, nothing is lost.
 */
export function dropFromPageCache(fd: number, from: number, to: number): number {
  const end = to - (to % PAGE_SIZE);
  if (end <= from) return from;
  const start = from - (from % PAGE_SIZE);
  loadFadvise()?.(fd, start, end - start, POSIX_FADV_DONTNEED);
  return end;
}
