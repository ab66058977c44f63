package io.cqrs.events;

/** Names of the Redis streams the events travel on. */
public final class EventStreams {

    /** The stream used when {@code EVENT_STREAM_NAME} is not set. */
    public static final String DEFAULT_STREAM = "cqrs:events";

    private EventStreams() {}

    /** The dead-letter stream that belongs to {@code stream}. */
    public static String deadLetterStream(String stream) {
        return stream + ":dlq";
    }

    /**
     * The key holding the random token of the current life of {@code stream} in Redis: it vanishes with the stream
     * when Redis loses its data, which is how the write side notices the loss.
     */
    public static String epochKey(String stream) {
        return stream + ":epoch";
    }
}
