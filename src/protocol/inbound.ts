import { InvalidRequestError } from "./errors";

/** Callbacks are a few hundred bytes; kit syncs with 500 users stay well under this. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Reads the body once, as bytes, refusing more than the limit without buffering it. */
export async function readRawBody(request: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw new InvalidRequestError(`request body exceeds ${limit} bytes`);
  if (!request.body) return new Uint8Array();
  // A declared length within the limit is the body's exact length (HTTP framing), so one read takes it whole; only
  // a body without one (chunked) is counted while it streams in.
  if (request.headers.has("content-length")) return new Uint8Array(await request.arrayBuffer());
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new InvalidRequestError(`request body exceeds ${limit} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The Marketplace sends `application/json;charset=utf8` (sometimes `utf-8`); anything else is not a callback. */
export function requireJsonContentType(request: Request): void {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type.trim())) {
    throw new InvalidRequestError(`content type must be application/json, got "${type.slice(0, 60) || "none"}"`);
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new InvalidRequestError("request body is not valid UTF-8");
  }
}

export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidRequestError("request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidRequestError("request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
