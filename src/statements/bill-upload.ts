import { InvalidRequestError } from "../protocol/errors";
import { readRawBody } from "../protocol/inbound";
import { StatementRequestError } from "./statement-request";

/** A month's bill detail is a few thousand rows; 5 MB holds far more, and bounds what one request makes the Worker parse. */
export const MAX_BILL_BYTES = 5 * 1024 * 1024;

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The uploaded bill as text: at most MAX_BILL_BYTES, UTF-8 (a BOM is kept for the CSV reader to drop). An xlsx (a zip)
 * or a GBK "CSV" is refused with what to do instead: no xlsx parser is bundled (README "Statements and reconciliation").
 */
export async function billTextOf(request: Request): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readRawBody(request, MAX_BILL_BYTES);
  } catch (error) {
    if (error instanceof InvalidRequestError) throw new StatementRequestError(413, `the bill exceeds ${MAX_BILL_BYTES} bytes (5 MB): export one period at a time`);
    throw error;
  }
  if (bytes.length > MAX_BILL_BYTES) throw new StatementRequestError(413, `the bill exceeds ${MAX_BILL_BYTES} bytes (5 MB): export one period at a time`);
  if (bytes.length === 0) throw new StatementRequestError(400, "the body is empty: send the exported bill detail as CSV");
  if (ZIP_MAGIC.every((byte, i) => bytes[i] === byte)) {
    throw new StatementRequestError(400, "the body is an xlsx (zip) file: open it and save it as CSV UTF-8 (comma or tab separated), then upload that");
  }
  try {
    return utf8.decode(bytes);
  } catch {
    throw new StatementRequestError(400, "the body is not UTF-8: save the export as CSV UTF-8 (Excel: 另存为 > CSV UTF-8)");
  }
}
