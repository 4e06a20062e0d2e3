import { useState } from 'preact/hooks';

/** Copies `text` to the clipboard and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      setTimeout(() => setDone(false), 2000);
    } catch {
      prompt('Copy this:', text);
    }
  };
  return (
    <button type="button" onClick={copy} aria-label={label}>
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}
