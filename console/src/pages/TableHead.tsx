/** A column of the header row: its name, or `{ hidden }` for one only screen readers announce. */
export type Column = string | { hidden: string };

/** A table's header row, one `th scope="col"` per column. */
export function TableHead({ columns }: { columns: Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) =>
          typeof c === 'string' ? (
            <th scope="col" key={c}>
              {c}
            </th>
          ) : (
            <th scope="col" key={c.hidden}>
              <span class="sr-only">{c.hidden}</span>
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}
