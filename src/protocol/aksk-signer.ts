import { createHash } from "node:crypto";
import { hmacSha256 } from "./hmac";
import { compareCodeUnits } from "./canonical-json";

/**
 * APIG AK/SK signature (SDK-HMAC-SHA256) for our calls to the Marketplace's open APIs, spec marketplace-open-apis
 * §1.2 and Appendix A. Proven against the worked values of §1.2.5 and against the Huawei Cloud Node SDK's signer
 * (test/node/aksk-sdk-crosscheck.test.ts).
 */
export const SDK_SIGNING_ALGORITHM = "SDK-HMAC-SHA256";

export interface AkSkSignInput {
  method: string;
  url: string | URL;
  /** Every header given here is signed; send exactly these (plus the returned ones) and nothing the gateway might sign differently. */
  headers: Record<string, string>;
  /** The exact bytes that go on the wire; a string is sent (and hashed) as UTF-8. */
  body: string | Uint8Array;
  ak: string;
  sk: string;
  sdkDate: Date;
}

export interface AkSkSignature {
  /** The caller's headers plus `X-Sdk-Date`, `Host` (unless given) and `Authorization`: send all of them unchanged. */
  headers: Record<string, string>;
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
  signature: string;
  authorization: string;
}

/** UTC `yyyyMMdd'T'HHmmss'Z'` (README point 6); milliseconds are dropped, not rounded, as every reference signer does. */
export function formatSdkDate(date: Date): string {
  if (!Number.isFinite(date.getTime())) throw new RangeError("sdkDate is not a valid date");
  const iso = date.toISOString();
  // toISOString widens years outside 0000–9999 to six digits with a sign; X-Sdk-Date has no room for them.
  if (iso.length !== 24) throw new RangeError("sdkDate must fall in the years 0000–9999");
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

const utf8 = new TextEncoder();
const HEX_UPPER = "0123456789ABCDEF";

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

function percentEncodeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX_UPPER[byte >> 4]}${HEX_UPPER[byte & 0x0f]}`;
  }
  return out;
}

/** RFC 3986 encoding of the UTF-8 bytes: only `A–Z a–z 0–9 - _ . ~` stay literal; upper-case hex; space is `%20`. */
export function percentEncode(value: string): string {
  return percentEncodeBytes(utf8.encode(value));
}

/**
 * A path segment as the bytes it stands for: `%XY` becomes byte XY, anything else its UTF-8 bytes. Working on bytes
 * (not decodeURIComponent) keeps an escape that is not valid UTF-8 byte-exact and never throws on a stray `%`.
 */
function segmentBytes(segment: string): Uint8Array {
  const bytes: number[] = [];
  let literalStart = 0;
  const flushLiteral = (end: number) => {
    if (end > literalStart) bytes.push(...utf8.encode(segment.slice(literalStart, end)));
  };
  for (let i = 0; i < segment.length; i++) {
    if (segment[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(segment.slice(i + 1, i + 3))) {
      flushLiteral(i);
      bytes.push(Number.parseInt(segment.slice(i + 1, i + 3), 16));
      i += 2;
      literalStart = i + 1;
    }
  }
  flushLiteral(segment.length);
  return Uint8Array.from(bytes);
}

/**
 * Each segment is decoded and encoded again, so a path that arrives percent-encoded (as every WHATWG URL's pathname
 * does for non-ASCII) is not encoded twice, and `%2f` and `%2F` sign alike. An encoded `/` (`%2F`) stays inside its
 * segment. The trailing `/` exists only in the signature (§1.2.1): the request itself is sent without it.
 */
export function canonicalUri(pathname: string): string {
  const path = pathname.startsWith("/") ? pathname : `/${pathname}`;
  const encoded = path
    .split("/")
    .map((segment) => percentEncodeBytes(segmentBytes(segment)))
    .join("/");
  return encoded.endsWith("/") ? encoded : `${encoded}/`;
}

/**
 * The query is read the way URLSearchParams (and every server-side form decoder) reads it: `+` is a space, a missing
 * `=` is an empty value, invalid UTF-8 in an escape becomes U+FFFD. Build query strings with URLSearchParams or
 * encodeURIComponent and what is sent and what is signed agree.
 *
 * Sorting is on the decoded name, then the decoded value, in UTF-16 code-unit order, as the reference signers do
 * (Node, Python and Go SDKs sort the raw parameters before encoding them; spec Appendix A sorts (name, value) pairs).
 * Repeated names are all kept.
 */
export function canonicalQueryString(search: string): string {
  const pairs = [...new URLSearchParams(search)];
  pairs.sort(([nameA, valueA], [nameB, valueB]) => compareCodeUnits(nameA, nameB) || compareCodeUnits(valueA, valueB));
  return pairs.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join("&");
}

// RFC 9110 token: anything else cannot be a header name on the wire, and lower-casing it would not be well defined.
const HEADER_NAME = /^[!#$%&'*+.^`|~0-9A-Za-z_-]+$/;
// A line break would forge extra canonical header lines; fetch would refuse the value anyway.
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;
// Set by this signer from sdkDate / never signed (§1.2.4): a caller passing them has made a mistake.
const RESERVED_HEADERS = new Set(["x-sdk-date", "authorization"]);
const CONTENT_SHA256_HEADER = "x-sdk-content-sha256";
const METHOD = /^[A-Za-z]+$/;

function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function signAkSk(input: AkSkSignInput): AkSkSignature {
  if (!input.ak || /[\s,]/.test(input.ak)) throw new TypeError("ak must be non-empty, without spaces or commas");
  if (!input.sk) throw new TypeError("sk must be non-empty");
  if (!METHOD.test(input.method)) throw new TypeError(`not an HTTP method: ${input.method}`);
  const method = input.method.toUpperCase();
  const url = new URL(input.url);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError(`not an HTTP URL: ${url.protocol}`);
  const sdkDate = formatSdkDate(input.sdkDate);

  const signed = new Map<string, string>();
  for (const [name, value] of Object.entries(input.headers)) {
    if (!HEADER_NAME.test(name)) throw new TypeError(`not a header name: ${JSON.stringify(name)}`);
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) throw new TypeError(`header ${name} is set by the signer`);
    if (signed.has(lower)) throw new TypeError(`header ${name} is given twice`);
    if (FORBIDDEN_IN_VALUE.test(value)) throw new TypeError(`header ${name} has a line break or NUL`);
    signed.set(lower, value.trim());
  }
  const hostGiven = signed.has("host");
  // url.host omits a default port, exactly as fetch writes the Host header; a caller's own Host wins, as in the SDKs.
  if (!hostGiven) signed.set("host", url.host);
  signed.set("x-sdk-date", sdkDate);

  const names = [...signed.keys()].sort(compareCodeUnits);
  const canonicalHeaders = names.map((name) => `${name}:${signed.get(name) ?? ""}\n`).join("");
  const signedHeaders = names.join(";");
  // The gateway takes this header's value as the payload hash when present (§1.2.1, G2 and the Node SDK): hashing the
  // body instead would make a request carrying it fail for certain.
  const payloadHash = signed.get(CONTENT_SHA256_HEADER) ?? sha256Hex(input.body);

  const canonicalRequest = [
    method,
    canonicalUri(url.pathname),
    canonicalQueryString(url.search),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join("\n");
  const stringToSign = `${SDK_SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonicalRequest)}`;
  const signature = hmacSha256(input.sk, stringToSign).toString("hex");
  const authorization = `${SDK_SIGNING_ALGORITHM} Access=${input.ak}, SignedHeaders=${signedHeaders}, Signature=${signature}`;

  const headers: Record<string, string> = { ...input.headers, "X-Sdk-Date": sdkDate };
  if (!hostGiven) headers["Host"] = url.host;
  headers["Authorization"] = authorization;
  return { headers, canonicalRequest, stringToSign, signedHeaders, signature, authorization };
}
