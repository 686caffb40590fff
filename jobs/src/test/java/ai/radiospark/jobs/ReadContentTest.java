package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.SerializableConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReadContentTest {
    @TempDir
    Path tmp;

    @Test
    void readsListedFilesAndTurnsAnUnreadableOneIntoAReason() throws Exception {
        Path a = Files.write(tmp.resolve("a.jpg"), new byte[] {1, 2, 3});
        String gone = tmp.resolve("deleted since the listing.jpg").toUri().toString();
        Timestamp t = new Timestamp(1_700_000_000_000L);
        List<Row> in = List.of(RowFactory.create(a.toUri().toString(), 3L, t), RowFactory.create(gone, 5L, t));
        Iterator<Row> out = new ReadContent(new SerializableConfiguration(new Configuration())).call(in.iterator());
        List<Row> rows = new ArrayList<>();
        out.forEachRemaining(rows::add);
        assertEquals(2, rows.size());
        Row ok = rows.get(0);
        assertEquals(a.toUri().toString(), ok.getString(0));
        assertEquals(3L, ok.getLong(1));
        assertEquals(t, ok.get(2));
        assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) ok.get(3));
        assertNull(ok.get(4));
        Row bad = rows.get(1);
        assertNull(bad.get(3));
        String why = bad.getString(4);
        assertTrue(why.startsWith("Cannot read image file " + gone + ": FileNotFoundException"), why);
        assertTrue(why.contains("deleted or replaced since the listing"), why);
        assertEquals(ReadContent.WITH_CONTENT.size(), bad.size());
    }

    @Test
    void chunksAreSplitIntoEqualPartitionsOfAtMost512Images() {
        assertEquals(2, ImageListing.partitions(256, 8, 2));
        assertEquals(4, ImageListing.partitions(2000, 16, 2));
        assertEquals(100, ImageListing.partitions(2000, 16, 100));
        assertEquals(1, ImageListing.partitions(5, 16, 8), "never less than a batch per partition");
        assertEquals(3, ImageListing.partitions(40, 16, 8));
        assertEquals(1, ImageListing.partitions(0, 16, 8));
    }
}
