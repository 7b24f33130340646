import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { type OpenApiCredentials, callOpenApi, failureOf, resultOf } from "./client";

/**
 * 字符串/文件流上传, spec marketplace-open-apis §2.2 (S11, S11b): delivers a license string or file for a
 * Marketplace event (for online licenses, the `eventId` of `getLicenseAsync`, §3.4 — an inference, §7 question 6).
 * multipart/form-data with a JSON part `isvUpdateFileReq` and, for files, a binary part `file`. We build the
 * multipart bytes ourselves because APIG's payload hash is over the raw body (§2.2 [I]): FormData would choose its
 * own boundary and bytes after we had signed.
 */
export const uploadPath = (eventId: string) => `/api/mkp-openapi-public/global/v1/market-event/${encodeURIComponent(eventId)}/file`;

/** E1: CBC.0000 in the table; MKT.0000 as in the sibling APIs' examples (same reading as query order, §2.1). */
const SUCCESS_CODES = new Set(["CBC.0000", "MKT.0000"]);

// §2.2 field limits; A7: APIG refuses signed bodies over 12 MB.
const MAX_EVENT_ID = 64;
const MAX_CHARACTERS = 1024;
const MAX_FILE_NAME = 1024;
const MAX_BODY_BYTES = 12 * 1024 * 1024;

export type UploadContent =
  | { type: "CHARACTERS"; characters: string }
  | { type: "FILE"; fileName: string; file: Uint8Array };

export interface UploadOptions {
  timeoutMs?: number;
  /** Fixed boundary for tests; random otherwise. */
  boundary?: string;
}

export interface MultipartBody {
  contentType: string;
  body: Uint8Array;
}

const utf8 = new TextEncoder();

/** WHATWG's multipart/form-data escaping of names and file names: the quote and line breaks are percent-encoded. */
function quoted(value: string): string {
  return `"${value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}"`;
}

/** The request body for `content`, exactly as sent and signed. Throws RangeError for content §2.2 does not allow. */
export function buildUploadBody(content: UploadContent, boundary = `----KooGalleryGateway${crypto.randomUUID().replace(/-/g, "")}`): MultipartBody {
  let request: Record<string, string>;
  let file: { name: string; bytes: Uint8Array } | null = null;
  if (content.type === "CHARACTERS") {
    if (content.characters.length === 0 || content.characters.length > MAX_CHARACTERS) {
      throw new RangeError(`characters must be 1–${MAX_CHARACTERS} characters; send a longer license as a FILE`);
    }
    request = { type: "CHARACTERS", characters: content.characters };
  } else {
    if (content.fileName.length === 0 || content.fileName.length > MAX_FILE_NAME) {
      throw new RangeError(`fileName must be 1–${MAX_FILE_NAME} characters`);
    }
    const sha256 = createHash("sha256").update(content.file).digest("hex");
    request = { type: "FILE", file_name: content.fileName, sha256 };
    file = { name: content.fileName, bytes: content.file };
  }
  const parts: Uint8Array[] = [
    utf8.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="isvUpdateFileReq"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(request)}\r\n`,
    ),
  ];
  if (file) {
    parts.push(
      utf8.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename=${quoted(file.name)}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      file.bytes,
      utf8.encode("\r\n"),
    );
  }
  parts.push(utf8.encode(`--${boundary}--\r\n`));
  const body = Buffer.concat(parts);
  // Only a caller-chosen boundary can realistically collide (a random one has 128 bits), but a collision would cut
  // the file short on the Marketplace's side, silently.
  if (file && Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.length).includes(`--${boundary}`)) {
    throw new RangeError("the multipart boundary occurs inside the file");
  }
  if (body.length > MAX_BODY_BYTES) throw new RangeError(`upload is ${body.length} bytes; APIG accepts at most ${MAX_BODY_BYTES}`);
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: new Uint8Array(body.buffer, body.byteOffset, body.length) };
}

/** Uploads a license string or file for `eventId`. Throws MarketplaceApiError (retryable per errors.ts) on failure. */
export async function uploadToEvent(
  credentials: OpenApiCredentials,
  eventId: string,
  content: UploadContent,
  now: Date,
  options: UploadOptions = {},
): Promise<void> {
  if (eventId.length === 0 || eventId.length > MAX_EVENT_ID) throw new RangeError(`eventId must be 1–${MAX_EVENT_ID} characters`);
  const api = "upload";
  const multipart = buildUploadBody(content, options.boundary);
  const { status, json } = await callOpenApi(
    credentials,
    {
      api,
      method: "POST",
      path: uploadPath(eventId),
      body: multipart.body,
      headers: { "Content-Type": multipart.contentType },
      timeoutMs: options.timeoutMs,
    },
    now,
  );
  if (!SUCCESS_CODES.has(resultOf(json).code)) throw failureOf(api, status, json);
}
