import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.split;

import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.sql.RadioFunctions;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.feature.StringIndexer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

// One folder per class (/data/labelled/cat/*.jpg, /data/labelled/dog/*.jpg, ...): the folder is the label.
Dataset<Row> labelled = spark.read().format("binaryFile").load("/data/labelled/*/*.jpg")
    .withColumn("class", element_at(split(col("path"), "/"), -2));
RadioFunctions.register(spark, Map.of("model", "nvidia/C-RADIOv4-H"));   // radio_vector, for the SQLTransformer
RadioEmbedder embed = new RadioEmbedder()
    .setInputCol("content")            // binary bytes, Spark's image struct, or a string path
    .setModel("nvidia/C-RADIOv4-H")    // or a checkpoint directory
    .setBatchSize(16).setDtype("bfloat16").setFeaturesMode("none");
SQLTransformer toVector = new SQLTransformer().setStatement(
    "SELECT *, radio_vector(summary) AS x FROM __THIS__ WHERE error IS NULL");
Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
    new StringIndexer().setInputCol("class").setOutputCol("label"), embed, toVector,
    new LogisticRegression().setFeaturesCol("x").setLabelCol("label")});
PipelineModel model = pipeline.fit(labelled);
model.write().overwrite().save("/models/radio-classifier");   // saves the model reference, not the weights
Dataset<Row> predicted = PipelineModel.load("/models/radio-classifier").transform(labelled);
predicted.select("path", "class", "prediction").show(false);
