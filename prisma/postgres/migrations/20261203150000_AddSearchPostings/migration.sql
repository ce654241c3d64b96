-- Hand-written: the counterpart of the SQLite migration AddSearchPostings, the search index's own postings (see
-- src/search/ranking.ts). Comments here hold no semicolons or quotes (see AddModelSearch).
--
-- ModelSearchPostings: per word and model, the word's weighted frequency in the model's document, the document
-- length and the impact. Byte order for words, as in ModelSearchTerms. The impact index includes every column read.
CREATE TABLE "ModelSearchPostings" (
  "Term" TEXT COLLATE "C" NOT NULL,
  "ModelId" INTEGER NOT NULL,
  "Frequency" DOUBLE PRECISION NOT NULL,
  "Length" INTEGER NOT NULL,
  "Impact" DOUBLE PRECISION NOT NULL,
  PRIMARY KEY ("Term", "ModelId")
);
CREATE INDEX "IX_ModelSearchPostings_Impact" ON "ModelSearchPostings" ("Term", "Impact" DESC, "ModelId") INCLUDE ("Frequency", "Length");

-- Per model, its document length in tokens.
CREATE TABLE "ModelSearchLengths" ("ModelId" INTEGER NOT NULL PRIMARY KEY, "Length" INTEGER NOT NULL);

-- The collection statistics, one row (see the SQLite migration).
CREATE TABLE "ModelSearchStats" (
  "Id" INTEGER NOT NULL PRIMARY KEY CHECK ("Id" = 1),
  "Documents" INTEGER NOT NULL,
  "Tokens" BIGINT NOT NULL,
  "ReferenceLength" DOUBLE PRECISION NOT NULL
);
INSERT INTO "ModelSearchStats" ("Id", "Documents", "Tokens", "ReferenceLength") VALUES (1, 0, 0, 0);

-- The vocabulary is now counted from the postings: it starts again with them.
DELETE FROM "ModelSearchTerms";

-- Every model document is written again, with its postings.
INSERT INTO "ModelSearchDirty" ("ModelId") SELECT "Id" FROM "Models" ON CONFLICT DO NOTHING;
