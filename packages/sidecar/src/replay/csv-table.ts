/**
 * A small RFC 4180 CSV reader: quoted fields may hold commas, newlines and doubled quotes.
 *
 * The RouteLLM response files are plain CSV written by pandas; a dependency for this one shape
 * is not worth its weight.
 */

/**
 * Parses CSV text into rows of fields. CRLF and LF both end a record; a trailing newline does
 * not produce an empty row.
 *
 * @example parseCsv('a,b\n"x, y",2\n') // [['a','b'], ['x, y','2']]
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      field += ch;
      i += 1;
      continue;
    }
    if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += ch;
    }
    i += 1;
  }
  if (quoted) throw new Error('CSV ends inside a quoted field');
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Rows of a CSV with a header line, as objects keyed by the header's column names. */
export function parseCsvRecords(text: string): {
  header: string[];
  records: Map<string, string>[];
} {
  const [header, ...body] = parseCsv(text);
  if (!header) return { header: [], records: [] };
  const records = body.map((cells) => {
    const record = new Map<string, string>();
    header.forEach((name, index) => {
      record.set(name, cells[index] ?? '');
    });
    return record;
  });
  return { header, records };
}
