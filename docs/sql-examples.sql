-- RADIO SQL functions: the examples the test suite runs (udf/src/test/java/ai/radiospark/sql/SqlExamplesTest.java
-- executes this file statement by statement, as written, and checks each result).
--
-- Start spark-sql with the shaded jar, Delta, and the functions' extension, then set the two variables used below:
--
--   spark-sql --jars jobs/target/radio-spark-jobs-0.1.0-SNAPSHOT-spark.jar \
--     --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension,ai.radiospark.sql.RadioSqlExtensions \
--     --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
--     --conf spark.radio.model=samples/model-tiny-random
--
--   SET images=/absolute/path/to/samples/images;
--   SET table=/tmp/radio-embeddings;
--   SET vectors=/tmp/radio-vectors;
--
-- (${images}, ${table} and ${vectors} are Spark SQL variable substitution of those SET values.)

-- name: images
-- The images as rows (path, modificationTime, length, content) from the binaryFile source, subfolders included.
CREATE OR REPLACE TEMPORARY VIEW images
USING binaryFile OPTIONS (path '${images}', recursiveFileLookup 'true');

-- name: embed
-- One image's full result: summary, patch features (null unless spark.radio.featuresMode is set) and error.
SELECT path, radio_embed(content) AS e FROM images WHERE path LIKE '%/chelsea.png';

-- name: create
-- Embed every image (once) into a Delta table: the summary (null for a bad image) and the error, if any.
CREATE TABLE radio_embeddings USING delta LOCATION '${table}' AS
SELECT path, e.summary, e.error FROM (SELECT path, radio_embed(content) AS e FROM images);

-- name: errors
-- The images that could not be embedded, and why.
SELECT path, error FROM radio_embeddings WHERE error IS NOT NULL;

-- name: neighbours
-- Nearest neighbours of china.jpg by cosine similarity of the summaries.
SELECT path, radio_cosine(summary, (SELECT summary FROM radio_embeddings WHERE path LIKE '%/china.jpg')) AS sim
FROM radio_embeddings
ORDER BY sim DESC
LIMIT 3;

-- name: cosine
-- radio_cosine on hand-made arrays: same direction, a known pair (32 / sqrt(14 * 77) = 0.9746318461970762),
-- and NULL in gives NULL out.
SELECT radio_cosine(array(1.0F, 2.0F), array(2.0F, 4.0F)) AS same,
       radio_cosine(array(1.0F, 2.0F, 3.0F), array(4.0F, 5.0F, 6.0F)) AS known,
       radio_cosine(NULL, array(1.0F)) AS null_in;

-- name: normalize
-- radio_normalize: an L2-normalised copy (3/5, 4/5), and NULL for an all-zero vector, which has no direction.
SELECT radio_normalize(array(3.0F, 4.0F)) AS unit, radio_normalize(array(0.0F, 0.0F)) AS zero;

-- name: vectors
-- For a vector store (README, Feeding a vector store): the current rows' keys and normalised summaries as plain
-- Parquet files to import, without the error rows.
INSERT OVERWRITE DIRECTORY '${vectors}' USING parquet
SELECT path, radio_normalize(summary) AS vector FROM radio_embeddings WHERE error IS NULL;
