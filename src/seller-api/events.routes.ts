import { getDb } from "../db/client";
import { eventsAfter } from "../events/outbox";
import { ErrorBody, commonErrors } from "./common.schema";
import { eventCursor } from "./cursor";
import { EventFeed, EventFeedQuery } from "./events.schema";
import { defineRoute, json } from "./route";

/**
 * The feed reads the outbox by seq. D1 commits one write at a time and seq is assigned at commit, so no event can
 * later appear behind a seq already handed out: passing nextCursor back sees every event exactly once.
 */
export const getEvents = defineRoute(
  {
    method: "get",
    path: "/api/v1/events",
    operationId: "getEvents",
    summary: "Every event in commit order: the same objects the webhook delivers",
    query: EventFeedQuery,
    responses: {
      200: { description: "the next events (possibly none) and the cursor to continue from", schema: EventFeed },
      400: { description: "malformed limit, or a cursor this API did not return", schema: ErrorBody },
      ...commonErrors,
    },
  },
  async ({ query, env }) => {
    const afterSeq = query.after === undefined ? 0 : eventCursor.decode(query.after);
    const rows = await eventsAfter(getDb(env), afterSeq, query.limit);
    const last = rows.at(-1);
    // The body is stored as sent, so the feed entry is the webhook body byte for byte once parsed.
    const events: unknown[] = rows.map((row) => JSON.parse(row.body));
    return json({ events, nextCursor: last ? eventCursor.encode(last.seq) : query.after ?? eventCursor.start() });
  },
);
