package io.cqrs.events;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EventStreamsTests {

    @Test
    void deadLetterStreamSitsBesideItsStream() {
        assertThat(EventStreams.deadLetterStream(EventStreams.DEFAULT_STREAM)).isEqualTo("cqrs:events:dlq");
    }

    @Test
    void epochKeySitsBesideItsStream() {
        assertThat(EventStreams.epochKey(EventStreams.DEFAULT_STREAM)).isEqualTo("cqrs:events:epoch");
    }
}
