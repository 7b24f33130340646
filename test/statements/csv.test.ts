import { describe, expect, it } from "vitest";
import { BOM, MalformedCsv, numberCell, parseCsv, textCell, toCsv } from "../../src/statements/csv";

describe("CSV", () => {
  it("writes a BOM, a header and RFC 4180 quoting; formula-like text is defused, numbers are not", () => {
    const csv = toCsv(["kind", "name", "amount"], [
      [textCell("order"), textCell('标准版, "年付"\n第二行'), numberCell("-12.5")],
      [textCell("order"), textCell("=HYPERLINK(\"x\")"), numberCell("0.3")],
      [textCell("usage"), textCell("@SUM(A1)"), null],
      [textCell("usage"), textCell("-1+2"), numberCell(null)],
    ]);
    expect(csv.startsWith(BOM)).toBe(true);
    expect(csv).toBe(
      `${BOM}kind,name,amount\r\norder,"标准版, ""年付""\n第二行",-12.5\r\norder,"'=HYPERLINK(""x"")",0.3\r\nusage,'@SUM(A1),\r\nusage,'-1+2,\r\n`,
    );
  });

  it("reads what it writes, and tab-separated files with a BOM", () => {
    const rows = [["订单号", "金额"], ['A,"1"', "1.50"], ["多行\n文本", ""]];
    const written = toCsv(rows[0] as string[], rows.slice(1).map((row) => row.map((cell) => textCell(cell))));
    expect(parseCsv(written)).toEqual({ delimiter: ",", rows });
    expect(parseCsv(`${BOM}订单号\t金额\r\nA1\t"1,5"\nB2\t3`)).toEqual({ delimiter: "\t", rows: [["订单号", "金额"], ["A1", "1,5"], ["B2", "3"]] });
  });

  it("keeps empty fields at a record's end and ignores the last line end", () => {
    expect(parseCsv("a,b\n1,\n").rows).toEqual([["a", "b"], ["1", ""]]);
    expect(parseCsv('a,b\r\n"x",""').rows).toEqual([["a", "b"], ["x", ""]]);
    expect(parseCsv("a,b\n1,").rows).toEqual([["a", "b"], ["1", ""]]);
    expect(parseCsv("a\n\nb\n").rows).toEqual([["a"], [""], ["b"]]);
  });

  it("names the row of a malformed record (header = row 1, a quoted newline stays one row)", () => {
    expect(() => parseCsv('a,b\r\n"x\ny",1\r\nbad"quote,2\r\n')).toThrow(new MalformedCsv(3, "a quote inside an unquoted field (quote the whole field and double the quote)"));
    expect(() => parseCsv('a,b\n1,"open')).toThrow(MalformedCsv);
    expect(() => parseCsv('a,b\n"x"y,1')).toThrow("row 2: text after a closing quote");
  });
});
