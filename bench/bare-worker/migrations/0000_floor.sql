-- The floor's two D1 rows per create (bench/bare-worker/index.ts).
CREATE TABLE floor_a (id TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL);
CREATE TABLE floor_b (id TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL);
