import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { findInstance } from "../../src/instances/instance.repo";
import { appInfoOf } from "../../src/instances/purchase";
import { cleanupJob } from "../../src/jobs/cleanup.job";
import { createInstance } from "../support/marketplace";

/*
 * The buyers' passwords are sealed bound to their instance (AES-GCM additional data): a sealed value copied into
 * another instance's row does not open there. Values sealed before that (the first format, bound to nothing) still
 * open, and the daily clean-up re-seals them bound.
 */

async function sealedOf(instanceId: string): Promise<string> {
  const row = await env.DB.prepare("SELECT admin_password_sealed AS sealed FROM instances WHERE id = ?").bind(instanceId).first<{ sealed: string | null }>();
  if (!row?.sealed) throw new Error(`instance ${instanceId} has no sealed password`);
  return row.sealed;
}

async function setSealed(instanceId: string, sealed: string): Promise<void> {
  await env.DB.prepare("UPDATE instances SET admin_password_sealed = ? WHERE id = ?").bind(sealed, instanceId).run();
}

/** The password as the gateway reads it from the stored row (the answer to queryInstance, /credentials). */
async function passwordOf(instanceId: string): Promise<string | undefined> {
  const instance = await findInstance(getDb(env), instanceId);
  if (!instance) throw new Error(`no instance ${instanceId}`);
  return (await appInfoOf(instance, env.DATA_KEY))?.password;
}

/** The first format, as the gateway wrote it before 0.3.0: v1.<iv>.<ciphertext+tag>, no additional data. */
async function sealUnbound(plaintext: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", Buffer.from(env.DATA_KEY, "base64"), { name: "AES-GCM" }, false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, tagLength: 128 }, key, new TextEncoder().encode(plaintext));
  return `v1.${Buffer.from(iv).toString("base64")}.${Buffer.from(sealed).toString("base64")}`;
}

describe("sealed passwords are bound to their instance", () => {
  it("a password sealed for one instance, copied into another's row, does not open there", async () => {
    const a = await createInstance();
    const b = await createInstance();
    const passwordA = await passwordOf(a.instanceId);
    expect(passwordA).toBeTruthy();
    await setSealed(b.instanceId, await sealedOf(a.instanceId));
    await expect(passwordOf(b.instanceId)).rejects.toMatchObject({ detail: expect.stringMatching(/failed authentication/) });
    expect(await passwordOf(a.instanceId)).toBe(passwordA);
  });

  it("a password in the old unbound format still opens, and the daily clean-up re-seals it bound to its instance", async () => {
    const old = await createInstance();
    const other = await createInstance();
    await setSealed(old.instanceId, await sealUnbound("legacy-password-1"));
    expect(await passwordOf(old.instanceId)).toBe("legacy-password-1");

    const counts = await cleanupJob(env, Date.now());
    expect(counts.passwordsResealed).toBeGreaterThanOrEqual(1);
    const resealed = await sealedOf(old.instanceId);
    expect(resealed).toMatch(/^v2\./);
    expect(await passwordOf(old.instanceId)).toBe("legacy-password-1");
    // Bound now: the re-sealed value does not open in another row.
    await setSealed(other.instanceId, resealed);
    await expect(passwordOf(other.instanceId)).rejects.toMatchObject({ detail: expect.stringMatching(/failed authentication/) });
    // A second run finds nothing left in the old format.
    expect((await cleanupJob(env, Date.now())).passwordsResealed).toBe(0);
  });
});
