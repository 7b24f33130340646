import { vi } from "vitest";

export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
  text: string;
}

/**
 * Replaces fetch for one test. The answer is built inside the implementation, per call (a Response
 * made outside a request's context cannot be read later). Every request is recorded with its exact body bytes.
 */
export function mockFetch(answer: (request: SeenRequest) => Response | Promise<Response>): SeenRequest[] {
  const seen: SeenRequest[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const body = new Uint8Array(await request.arrayBuffer());
    const entry = { method: request.method, url: new URL(request.url), headers: request.headers, body, text: new TextDecoder().decode(body) };
    seen.push(entry);
    return answer(entry);
  });
  return seen;
}

export function failFetch(error: Error): void {
  vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
    throw error;
  });
}
