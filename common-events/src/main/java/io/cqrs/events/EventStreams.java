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

    /**
     * The hash in which the write side's reconciliation says what it currently knows about {@code stream}'s read model
     * (fields {@code diverged}, {@code ahead}, {@code checked_at}); it expires unless refreshed, so a reconciliation
     * that stopped leaves nothing stale behind. The read service's health reports it.
     */
    public static String reconciliationKey(String stream) {
        return stream + ":reconciliation";
    }

    /**
     * The hash in which operators pause the projectors of {@code stream}: field {@code <group>:paused} pauses every
     * consumer of that group, {@code <group>:paused:<consumer>} says one instance was paused on its own. Every projector
     * instance reads it between batches.
     */
    public static String controlKey(String stream) {
        return stream + ":control";
    }
}
