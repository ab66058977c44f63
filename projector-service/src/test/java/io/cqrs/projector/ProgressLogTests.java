package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.cqrs.stream.StreamEntryId;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class ProgressLogTests {

    private final Logger logger = (Logger) LoggerFactory.getLogger(ProgressLog.class);
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private Level levelBefore;

    @BeforeEach
    void capture() {
        levelBefore = logger.getLevel();
        logger.setLevel(Level.INFO);
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
        logger.setLevel(levelBefore);
    }

    private List<String> infoLines() {
        return lines.list.stream()
                .filter(line -> line.getLevel() == Level.INFO)
                .map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    @Test
    void logsTheFirstBatchAtOnceAndSumsUpTheRestInTheNextLine() {
        var progress = new ProgressLog(Duration.ofHours(1));

        progress.batch(1, 2048, new StreamEntryId(10, 0), 1, 0, 0, 44_000_000);
        progress.batch(3, 1024, new StreamEntryId(12, 0), 2, 1, 0, 5_000_000);
        progress.batch(2, 1024, new StreamEntryId(11, 5), 1, 0, 1, 70_000_000);

        assertThat(infoLines())
                .containsExactly("Projected 1 entries (2 KB) in 1 batches up to 10-0: 1 applied, 0 stale,"
                        + " 0 dead-lettered; slowest batch 44 ms");

        progress.flush();

        assertThat(infoLines())
                .hasSize(2)
                .last()
                .isEqualTo("Projected 5 entries (2 KB) in 2 batches up to 12-0: 3 applied, 1 stale,"
                        + " 1 dead-lettered; slowest batch 70 ms");
    }

    @Test
    void writesALineForEveryBatchOnceTheIntervalHasPassed() {
        var progress = new ProgressLog(Duration.ZERO);

        progress.batch(1, 100, new StreamEntryId(1, 0), 1, 0, 0, 1_000_000);
        progress.batch(1, 100, new StreamEntryId(2, 0), 1, 0, 0, 1_000_000);

        assertThat(infoLines()).hasSize(2);
    }

    @Test
    void saysNothingAtStopWhenEverythingWasLogged() {
        var progress = new ProgressLog(Duration.ofHours(1));
        progress.batch(1, 100, new StreamEntryId(1, 0), 1, 0, 0, 1_000_000);

        progress.flush();
        progress.flush();

        assertThat(infoLines()).hasSize(1);
    }

    @Test
    void logsEveryBatchAtDebug() {
        logger.setLevel(Level.DEBUG);
        var progress = new ProgressLog(Duration.ofHours(1));

        progress.batch(1, 100, new StreamEntryId(1, 0), 1, 0, 0, 1_000_000);
        progress.batch(4, 3000, new StreamEntryId(2, 0), 3, 1, 0, 2_000_000);

        assertThat(lines.list.stream()
                        .filter(line -> line.getLevel() == Level.DEBUG)
                        .map(ILoggingEvent::getFormattedMessage))
                .containsExactly(
                        "Projected 1 entries (1 KB) up to 1-0: 1 applied, 0 stale, 0 dead-lettered in 1 ms",
                        "Projected 4 entries (3 KB) up to 2-0: 3 applied, 1 stale, 0 dead-lettered in 2 ms");
    }
}
