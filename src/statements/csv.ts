/*
 * CSV as RFC 4180 has it (fields with a comma, quote, CR or LF quoted, quotes doubled, CRLF between records), with a
 * UTF-8 BOM so Excel opens Chinese text correctly, and a reader of the same format (comma or tab separated).
 */

export const BOM = "\uFEFF";

/**
 * Formula injection: a spreadsheet runs a cell starting with = + - @ (or a tab/CR before one) as a formula. Text that
 * comes from the Marketplace or the seller gets a leading apostrophe there (shown, not run); the numeric columns the
 * gateway writes itself ("-12.5", a refund) are checked decimals and stay as they are, so they still sum.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export type CsvCell = { text: string } | { number: string } | null;

export const textCell = (value: string | null): CsvCell => (value === null ? null : { text: value });
export const numberCell = (value: string | null): CsvCell => (value === null ? null : { number: value });

function quoted(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function field(cell: CsvCell): string {
  if (cell === null) return "";
  if ("number" in cell) return quoted(cell.number);
  return quoted(FORMULA_START.test(cell.text) ? `'${cell.text}` : cell.text);
}

/** BOM, the header row, one record per row; CRLF line ends. */
export function toCsv(header: readonly string[], rows: readonly CsvCell[][]): string {
  const lines = [header.map(quoted).join(","), ...rows.map((row) => row.map(field).join(","))];
  return `${BOM}${lines.join("\r\n")}\r\n`;
}

export class MalformedCsv extends Error {
  override readonly name = "MalformedCsv";
  constructor(
    readonly row: number,
    problem: string,
  ) {
    super(`row ${row}: ${problem}`);
  }
}

/**
 * The records of a CSV text (BOM dropped); the delimiter is the header's: a tab when the first line has one, else a
 * comma. Row numbers are 1-based with the header as row 1, as a spreadsheet shows them. A record that spans lines
 * (a quoted newline) is one row.
 */
export function parseCsv(input: string): { delimiter: "," | "\t"; rows: string[][] } {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = firstLine.includes("\t") ? "\t" : ",";
  // An unquoted field runs to the next delimiter or line end; sticky, so each field is one regex step, not per character.
  const unquoted = delimiter === "\t" ? /[^\t\r\n"]*/y : /[^,\r\n"]*/y;
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const end = text.length;
  while (i < end) {
    const rowNumber = rows.length + 1;
    let cell: string;
    if (text[i] === '"') {
      // A quoted field: up to the quote not followed by another; doubled quotes are one.
      let value = "";
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote < 0) throw new MalformedCsv(rowNumber, "a quoted field is never closed");
        value += text.slice(from, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          from = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      cell = value;
      if (i < end && text[i] !== delimiter && text[i] !== "\r" && text[i] !== "\n") throw new MalformedCsv(rowNumber, "text after a closing quote");
    } else {
      unquoted.lastIndex = i;
      const match = unquoted.exec(text);
      cell = match?.[0] ?? "";
      i += cell.length;
      if (text[i] === '"') throw new MalformedCsv(rowNumber, "a quote inside an unquoted field (quote the whole field and double the quote)");
    }
    row.push(cell);
    if (i >= end) break;
    if (text[i] === delimiter) {
      i += 1;
      // A delimiter at the very end still opens one last, empty field.
      if (i >= end) row.push("");
      continue;
    }
    // A line end closes the record.
    i += text[i] === "\r" && text[i + 1] === "\n" ? 2 : 1;
    rows.push(row);
    row = [];
  }
  if (row.length > 0) rows.push(row);
  return { delimiter, rows };
}
