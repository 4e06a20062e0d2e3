import { Readable } from 'node:stream';

const MiB = 1 << 20;

/**
 * A body of `data` sent in 1 MiB pieces; `act()` runs once `at` bytes were handed over (then
 * each next piece waits `pauseMs`), so a test acts (kills a gateway, starts one) while the
 * upload streams.
 */
export function streamed(data: Buffer, at: number, act: () => Promise<void>, pauseMs = 0): Readable {
  let sent = 0;
  let acted = false;
  return Readable.from(
    (async function* () {
      while (sent < data.length) {
        const piece = data.subarray(sent, sent + MiB);
        sent += piece.length;
        yield piece;
        if (!acted && sent >= at) {
          acted = true;
          await act();
        }
        if (acted && pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
    })(),
    { objectMode: false },
  );
}
