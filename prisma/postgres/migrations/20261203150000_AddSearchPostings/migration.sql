-- Hand-written: the counterpart of the SQLite migration AddSearchPostings, the own postings of the search index (see
-- src/search/ranking.ts). Comments here hold no semicolons or quotes (see AddModelSearch).
--
-- ModelSearchPostings: per word and model, the weighted frequency of the word in the model document, the document
-- length and the impact. Byte order for words, as in ModelSearchTerms. The impact index holds every column read.
CREATE TABLE "ModelSearchPostings" (
  "Term" TEXT COLLATE "C" NOT NULL,
  "ModelId" INTEGER NOT NULL,
  "Frequency" DOUBLE PRECISION NOT NULL,
  "Length" INTEGER NOT NULL,
  "Impact" DOUBLE PRECISION NOT NULL,
  PRIMARY KEY ("Term", "ModelId")
);
-- Read backward (highest impact first). No INCLUDE, no descending column and no CHECK on the statistics row: with
-- them the Prisma schema engine failed to read this schema back (the no-drift check). SQLite keeps the same shape.
CREATE INDEX "IX_ModelSearchPostings_Impact" ON "ModelSearchPostings" ("Term", "Impact", "ModelId", "Frequency", "Length");

-- Per model, its document length in tokens.
CREATE TABLE "ModelSearchLengths" ("ModelId" INTEGER NOT NULL PRIMARY KEY, "Length" INTEGER NOT NULL);

-- The collection statistics, one row (see the SQLite migration).
CREATE TABLE "ModelSearchStats" (
  "Id" INTEGER NOT NULL PRIMARY KEY,
  "Documents" INTEGER NOT NULL,
  "Tokens" BIGINT NOT NULL,
  "ReferenceLength" DOUBLE PRECISION NOT NULL
);
INSERT INTO "ModelSearchStats" ("Id", "Documents", "Tokens", "ReferenceLength") VALUES (1, 0, 0, 0);

-- The vocabulary is now counted from the postings: it starts again with them.
DELETE FROM "ModelSearchTerms";

-- Every model document is written again, with its postings.
INSERT INTO "ModelSearchDirty" ("ModelId") SELECT "Id" FROM "Models" ON CONFLICT DO NOTHING;
