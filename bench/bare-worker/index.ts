const BODY = JSON.stringify({ resultCode: "000000", resultMsg: "success" });

export default {
  fetch: async () => new Response(BODY, { headers: { "Content-Type": "application/json" } }),
} satisfies ExportedHandler;
