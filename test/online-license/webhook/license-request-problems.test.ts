import { describe, expect, it } from "vitest";
import { createInstance } from "../../support/marketplace";
import { sellerBackend } from "../../support/seller-backend";
import { callLicense, licenseRequest, waitForLicense } from "../../support/licenses";
import { makeDueAndRunAlarm, waitForOutbox } from "../../support/webhook-delivery";
import { openOne, resolvedAll, waitForProblems } from "../../support/problems";

/* LICENSE_MODE=webhook: license.requested deliveries count towards delivery.failing like every other webhook. */

const BACKEND = "http://127.0.0.1:9";

describe("delivery.failing for license.requested", () => {
  it("opens on the request's third failed delivery and clears when the backend issues the license", async () => {
    const { instanceId } = await createInstance();
    const body = licenseRequest(instanceId);
    await sellerBackend.answer(instanceId, { kind: "error" }, { times: 3, types: ["license.requested"] });
    expect((await callLicense(body)).json.resultCode).toBe("000004");
    const requested = (rows: Array<{ type: string; attempts: number }>, attempts: number) => rows.some((row) => row.type === "license.requested" && row.attempts >= attempts);
    await waitForOutbox(instanceId, (rows) => requested(rows, 1));
    await makeDueAndRunAlarm(instanceId);
    await waitForOutbox(instanceId, (rows) => requested(rows, 2));
    await makeDueAndRunAlarm(instanceId);
    const [opened] = await waitForProblems("delivery.failing", BACKEND, openOne);
    expect(opened?.summary).toMatch(/license\.requested/);
    await sellerBackend.answer(instanceId, { kind: "json", body: { type: "CHARACTERS", content: `LIC-${body.eventId}` } }, { types: ["license.requested"] });
    await makeDueAndRunAlarm(instanceId);
    await waitForLicense(body.eventId, (row) => row.state !== "requested");
    await waitForProblems("delivery.failing", BACKEND, resolvedAll);
  });
});
