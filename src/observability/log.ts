export type LogLevel = "info" | "warn" | "error";

/** One structured JSON line per event. Callers pass ids and codes only: never bodies, keys or passwords. */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
