import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { buildUploadBody, uploadPath, uploadToEvent } from "../../src/marketplace-api/upload.api";
import { NOW, answer, credentials, expectedAuthorization, failure, restoreMocksAfterEach } from "../support/open-api";
import { mockFetch } from "./fetch-mock";

restoreMocksAfterEach();

describe("string / file upload (§2.2)", () => {
  it("CHARACTERS: one JSON part isvUpdateFileReq, exact bytes", () => {
    const { contentType, body } = buildUploadBody({ type: "CHARACTERS", characters: "LIC-云" }, "B0UNDARY");
    expect(contentType).toBe("multipart/form-data; boundary=B0UNDARY");
    expect(new TextDecoder().decode(body)).toBe(
      '--B0UNDARY\r\nContent-Disposition: form-data; name="isvUpdateFileReq"\r\nContent-Type: application/json\r\n\r\n' +
        '{"type":"CHARACTERS","characters":"LIC-云"}\r\n--B0UNDARY--\r\n',
    );
  });

  it("FILE: JSON part with file_name and the file's sha256, then the binary part, the name escaped as browsers do", () => {
    const file = new Uint8Array([0x00, 0xff, 0x0d, 0x0a]);
    const sha256 = createHash("sha256").update(file).digest("hex");
    const { body } = buildUploadBody({ type: "FILE", fileName: 'a"b\n.lic', file }, "B0UNDARY");
    const text = new TextDecoder("latin1").decode(body);
    expect(text).toBe(
      '--B0UNDARY\r\nContent-Disposition: form-data; name="isvUpdateFileReq"\r\nContent-Type: application/json\r\n\r\n' +
        `{"type":"FILE","file_name":"a\\"b\\n.lic","sha256":"${sha256}"}\r\n` +
        '--B0UNDARY\r\nContent-Disposition: form-data; name="file"; filename="a%22b%0A.lic"\r\nContent-Type: application/octet-stream\r\n\r\n' +
        "\u0000\u00ff\r\n\r\n--B0UNDARY--\r\n",
    );
  });

  it("sends the multipart bytes AK/SK-signed over exactly those bytes, to the event's path", async () => {
    const seen = mockFetch(() => answer({ error_code: "CBC.0000", error_msg: "success" }));
    await uploadToEvent(credentials, "evt/1", { type: "CHARACTERS", characters: "x" }, NOW, { boundary: "B0UNDARY" });
    const [request] = seen;
    if (!request) throw new Error("no request");
    expect(request.url.pathname).toBe("/api/mkp-openapi-public/global/v1/market-event/evt%2F1/file");
    expect(uploadPath("evt/1")).toBe(request.url.pathname);
    expect(request.headers.get("content-type")).toBe("multipart/form-data; boundary=B0UNDARY");
    expect(request.body).toEqual(buildUploadBody({ type: "CHARACTERS", characters: "x" }, "B0UNDARY").body);
    expect(request.headers.get("authorization")).toBe(expectedAuthorization(request, "multipart/form-data; boundary=B0UNDARY", NOW));
  });

  it("MKT.0000 counts as success too; 91381036 (inner error) is retryable, 91381033 and CBC.0101 final", async () => {
    mockFetch(() => answer({ error_code: "MKT.0000" }));
    await uploadToEvent(credentials, "e", { type: "CHARACTERS", characters: "x" }, NOW);
    vi.restoreAllMocks();
    mockFetch(() => answer({ error_code: "91381036", error_msg: "inner error" }));
    expect(await failure(uploadToEvent(credentials, "e", { type: "CHARACTERS", characters: "x" }, NOW))).toMatchObject({ code: "91381036", retryable: true });
    vi.restoreAllMocks();
    mockFetch(() => answer({ error_code: "91381033", error_msg: "license resource invalid" }));
    expect(await failure(uploadToEvent(credentials, "e", { type: "CHARACTERS", characters: "x" }, NOW))).toMatchObject({ code: "91381033", retryable: false });
    vi.restoreAllMocks();
    mockFetch(() => answer({ error_code: "CBC.0101", error_msg: "bad" }, 400));
    expect(await failure(uploadToEvent(credentials, "e", { type: "CHARACTERS", characters: "x" }, NOW))).toMatchObject({ code: "CBC.0101", retryable: false });
  });

  it("refuses what §2.2 does not allow, before sending", async () => {
    const seen = mockFetch(() => answer({ error_code: "CBC.0000" }));
    const send = (eventId: string, content: Parameters<typeof uploadToEvent>[2], boundary?: string) =>
      uploadToEvent(credentials, eventId, content, NOW, boundary === undefined ? {} : { boundary });
    await expect(send("e", { type: "CHARACTERS", characters: "x".repeat(1025) })).rejects.toBeInstanceOf(RangeError);
    await expect(send("e", { type: "CHARACTERS", characters: "" })).rejects.toBeInstanceOf(RangeError);
    await expect(send("e".repeat(65), { type: "CHARACTERS", characters: "x" })).rejects.toBeInstanceOf(RangeError);
    await expect(send("e", { type: "FILE", fileName: "", file: new Uint8Array(1) })).rejects.toBeInstanceOf(RangeError);
    await expect(send("e", { type: "FILE", fileName: "f", file: new TextEncoder().encode("x--B0UNDARYx") }, "B0UNDARY")).rejects.toBeInstanceOf(RangeError);
    expect(seen).toHaveLength(0);
  });
});
