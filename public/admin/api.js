// @ts-check
/*
 * The page's one way to the admin API: same origin only (/admin/api), the bearer token from sessionStorage (this tab
 * only, gone when it closes), never a cookie.
 */

const TOKEN_KEY = "koogallery-admin-token";

/** @returns {string | null} */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** @param {string} value */
export function keepToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The API refused the token (401): the page signs out. */
export class SignedOut extends Error {
  constructor() {
    super("The admin token was refused. Sign in again.");
    this.name = "SignedOut";
  }
}

/** @typedef {Record<string, string | number | null | undefined>} Query */

/**
 * A body: JSON of a value, or a file's bytes as they are (`{ file, type }`): the API reads their encoding, BOM included.
 * @typedef {{ json: unknown } | { file: Blob, type: string }} Body
 */

/**
 * The answer as fetched, for a caller that reads it otherwise than as JSON (the CSV download).
 * @param {string} method
 * @param {string} path under /admin/api
 * @param {Query | null} [query]
 * @param {Body} [body]
 * @param {string} [accept]
 * @returns {Promise<Response>}
 */
export async function request(method, path, query, body, accept = "application/json") {
  const url = new URL(path, location.origin);
  if (query) {
    for (const [name, value] of Object.entries(query)) {
      if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, String(value));
    }
  }
  /** @type {Record<string, string>} */
  const headers = { Authorization: "Bearer " + token(), Accept: accept };
  /** @type {string | Blob | undefined} */
  let payload;
  if (body && "json" in body) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body.json);
  } else if (body) {
    headers["Content-Type"] = body.type;
    payload = body.file;
  }
  const response = await fetch(url.toString(), { method, headers, body: payload, cache: "no-store", credentials: "omit" });
  if (response.status === 401) throw new SignedOut();
  if (!response.ok) {
    /** @type {unknown} */
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    throw new Error(errorOf(answer) ?? "HTTP " + response.status);
  }
  return response;
}

/**
 * The JSON answer of an admin API route. The caller names its type (src/admin/page/api-types.ts).
 * @param {string} method
 * @param {string} path
 * @param {Query | null} [query]
 * @param {Body} [body]
 * @returns {Promise<unknown>}
 */
export async function api(method, path, query, body) {
  const response = await request(method, path, query, body);
  return response.json();
}

/**
 * The admin API's `{"error": "..."}`, when the answer is one.
 * @param {unknown} answer
 * @returns {string | undefined}
 */
function errorOf(answer) {
  if (answer && typeof answer === "object" && "error" in answer && typeof answer.error === "string") return answer.error;
  return undefined;
}
