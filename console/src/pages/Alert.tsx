/** An error or a notice, read out by screen readers when it appears. */
export function Alert({ error, notice }: { error?: string; notice?: string }) {
  return (
    <div aria-live="polite">
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {notice && <p class="notice">{notice}</p>}
    </div>
  );
}
