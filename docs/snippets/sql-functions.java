import java.util.Map;

ai.radiospark.sql.RadioFunctions.register(spark, Map.of("model", "nvidia/C-RADIOv4-H", "featuresMode", "pooled:2x2"));
spark.sql("SELECT path, radio_embed(content).features.rows AS rows, radio_embed(content).error AS error "
    + "FROM binaryFile.`/data/photos/*.jpg`").show(false);
