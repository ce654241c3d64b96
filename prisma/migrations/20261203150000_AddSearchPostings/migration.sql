-- Hand-written: the search index's own postings, which make a search of plain words cost what its first page needs
-- rather than what all its matches would (src/search/ranking.ts says how). Kept by the code that writes the search
-- documents (src/db/search-postings.ts), from the same text; declared external like ModelSearch.
--
-- ModelSearchPostings: per word and model, the word's weighted frequency in the model's document, the document's
-- length in tokens and the impact (what the model's score for the word grows with). Read in impact order per word
-- (the index holds every column read, so no row is looked up), and by word and model.
CREATE TABLE "ModelSearchPostings" (
  "Term" TEXT NOT NULL,
  "ModelId" INTEGER NOT NULL,
  "Frequency" REAL NOT NULL,
  "Length" INTEGER NOT NULL,
  "Impact" REAL NOT NULL,
  PRIMARY KEY ("Term", "ModelId")
) WITHOUT ROWID;
-- Read backward (highest impact first). The same shape as on PostgreSQL, where Prisma's schema engine could not read
-- a descending column or a CHECK back.
CREATE INDEX "IX_ModelSearchPostings_Impact" ON "ModelSearchPostings" ("Term", "Impact", "ModelId", "Frequency", "Length");

-- Per model, its document's length in tokens (also for documents without a word).
CREATE TABLE "ModelSearchLengths" ("ModelId" INTEGER NOT NULL PRIMARY KEY, "Length" INTEGER NOT NULL);

-- Per word, how many documents hold it (the fts5vocab view was read for this before: it walks the word's postings).
CREATE TABLE "ModelSearchTerms" ("term" TEXT NOT NULL PRIMARY KEY, "doc" INTEGER NOT NULL) WITHOUT ROWID;

-- The collection's statistics, one row: documents, their tokens, and the reference length impacts were computed with
-- (set by the first documents written, then kept).
CREATE TABLE "ModelSearchStats" (
  "Id" INTEGER NOT NULL PRIMARY KEY,
  "Documents" INTEGER NOT NULL,
  "Tokens" INTEGER NOT NULL,
  "ReferenceLength" REAL NOT NULL
);
INSERT INTO "ModelSearchStats" ("Id", "Documents", "Tokens", "ReferenceLength") VALUES (1, 0, 0, 0);

-- Every model's document is written again, with its postings.
INSERT OR IGNORE INTO "ModelSearchDirty" ("ModelId") SELECT "Id" FROM "Models";
