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
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let inQuotes = false;
  let afterQuote = false;
  let i = 0;
  const endRecord = () => {
    row.push(cell);
    rows.push(row);
    row = [];
    cell = "";
    afterQuote = false;
  };
  while (i < text.length) {
    const char = text[i] as string;
    if (inQuotes) {
      if (char === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        afterQuote = true;
      } else {
        cell += char;
      }
      i += 1;
      continue;
    }
    if (char === delimiter) {
      row.push(cell);
      cell = "";
      afterQuote = false;
    } else if (char === "\n" || char === "\r") {
      endRecord();
      if (char === "\r" && text[i + 1] === "\n") i += 1;
    } else if (char === '"') {
      if (cell !== "" || afterQuote) throw new MalformedCsv(rows.length + 1, "a quote inside an unquoted field (quote the whole field and double the quote)");
      inQuotes = true;
    } else {
      if (afterQuote) throw new MalformedCsv(rows.length + 1, "text after a closing quote");
      cell += char;
    }
    i += 1;
  }
  if (inQuotes) throw new MalformedCsv(rows.length + 1, "a quoted field is never closed");
  if (cell !== "" || row.length > 0 || afterQuote) endRecord();
  return { delimiter, rows };
}
