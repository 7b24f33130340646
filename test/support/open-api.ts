import { afterEach, expect, vi } from "vitest";
import { MarketplaceApiError } from "../../src/marketplace-api/errors";
import { signAkSk } from "../../src/protocol/aksk-signer";

/*
 * Shared by the open-API client tests: the mocked-fetch ones in test/marketplace-api and the Node ones against the
 * local fake (test/node). Plain TypeScript: nothing here may import a "cloudflare:*" module.
 */

/** The clock the request-shape tests sign with. */
export const NOW = new Date(Date.UTC(2026, 5, 1, 10, 0, 0));

/** AK/SK and API base of the mocked Marketplace. */
export const credentials = { ak: "TESTAK", sk: "test-sk", apiBase: "https://mkt.example.test" };

/**
 * The Authorization header the test credentials give a POST of exactly these body bytes to this URL, with this
 * Content-Type, at `sdkDate` (AK/SK, spec §1.2): what a recorded request must carry.
 */
export function expectedAuthorization(request: { url: URL; body: Uint8Array }, contentType: string, sdkDate: Date): string {
  return signAkSk({ method: "POST", url: request.url, headers: { "Content-Type": contentType }, body: request.body, ak: credentials.ak, sk: credentials.sk, sdkDate })
    .authorization;
}

/** A JSON answer of the mocked Marketplace. */
export const answer = (body: unknown, status = 200) => Response.json(body, { status });

/** Puts the real fetch (and every other mock) back after each test of the calling file. */
export function restoreMocksAfterEach(): void {
  afterEach(() => {
    vi.restoreAllMocks();
  });
}

/** The MarketplaceApiError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<MarketplaceApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MarketplaceApiError);
  return error as MarketplaceApiError;
}
